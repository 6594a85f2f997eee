-- A finalized invoice keeps its figures; only payment and voiding are recorded on it.
create or replace function invoice_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    if old.status <> 'DRAFT' then raise exception 'a % invoice cannot be deleted', old.status using errcode = 'restrict_violation'; end if;
    return old;
  end if;
  if old.status = 'DRAFT' then return new; end if;
  if old.status = 'VOID'
     or (old.status = 'FINALIZED' and new.status not in ('FINALIZED', 'PAID', 'VOID'))
     or (old.status = 'PAID' and new.status not in ('PAID', 'VOID'))
     or (to_jsonb(new) - array['status', 'paid_at', 'payment_reference', 'voided_at', 'void_reason', 'updated_at'])
        is distinct from (to_jsonb(old) - array['status', 'paid_at', 'payment_reference', 'voided_at', 'void_reason', 'updated_at']) then
    raise exception 'a % invoice is immutable', old.status using errcode = 'restrict_violation';
  end if;
  return new;
end $$;
