-- Payments and refunds are the record of money received and given back: never deleted, and
-- changed only to settle a PENDING one (a provider's asynchronous outcome).
create or replace function payment_guard() returns trigger language plpgsql as $$
declare
  settled constant text[] := array['status', 'failure_reason', 'provider_reference', 'updated_at'];
begin
  if tg_op = 'DELETE' then
    raise exception 'payment rows cannot be deleted' using errcode = 'restrict_violation';
  end if;
  if old.status <> 'PENDING' or (to_jsonb(new) - settled) is distinct from (to_jsonb(old) - settled) then
    raise exception 'a % payment is immutable', old.status using errcode = 'restrict_violation';
  end if;
  return new;
end $$;
