-- webhook_emit(topic, event_id, data, at): announces one event to webhooks, in the transaction of
-- the change it announces (a transactional outbox: rolled back, it was never announced). The event
-- goes into webhook_event once, whether or not an endpoint listens, so a replay can send it later;
-- each enabled endpoint subscribed to the topic gets one delivery, which the webhook worker sends.
-- An event id already logged writes nothing: a change retried, or announced twice, announces once.
-- `data` is the body's "data" as the topic's schema in the webhook catalogue describes it
-- (src/modules/webhooks/webhook-catalogue.pure.ts), amounts as decimal strings. Returns how many
-- deliveries it wrote.
create or replace function webhook_emit(p_topic text, p_event_id uuid, p_data jsonb, p_at timestamptz) returns int
language plpgsql as $fn$
declare
  n int;
begin
  insert into webhook_event (id, topic, data, occurred_at) values (p_event_id, p_topic, p_data, p_at)
  on conflict (id) do nothing;
  if not found then
    return 0;
  end if;
  insert into webhook_delivery (id, endpoint_id, topic, event_id, payload, next_attempt_at, created_at)
  select gen_random_uuid(), e.id, p_topic, p_event_id, p_data, p_at, p_at
    from webhook_endpoint e
   where e.enabled and p_topic = any (e.topics)
  on conflict (endpoint_id, event_id) where replay_id is null do nothing;
  get diagnostics n = row_count;
  return n;
end
$fn$;
