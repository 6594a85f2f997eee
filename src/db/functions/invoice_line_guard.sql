-- Lines change only while their invoice is a draft.
create or replace function invoice_line_guard() returns trigger language plpgsql as $$
declare
  st varchar(16);
begin
  select status into st from invoice where id = coalesce(new.invoice_id, old.invoice_id);
  if st is distinct from 'DRAFT' then
    raise exception 'lines of a % invoice are immutable', st using errcode = 'restrict_violation';
  end if;
  return coalesce(new, old);
end $$;
