-- The level of a value against a definition: -1 when not crossed; with a recurrence, how many
-- steps beyond the threshold (ABOVE: reached threshold + level * every; BELOW: fell under
-- threshold - level * every).
create or replace function alert_level(p_direction varchar, p_threshold numeric, p_every numeric, p_value numeric)
returns int language sql immutable as $$
  select case
    when p_direction = 'ABOVE' and p_value >= p_threshold
      then case when p_every is null then 0 else least(floor((p_value - p_threshold) / p_every), 1000000000)::int end
    when p_direction = 'BELOW' and p_value < p_threshold
      then case when p_every is null then 0 else least(ceil((p_threshold - p_value) / p_every) - 1, 1000000000)::int end
    else -1 end
$$;
