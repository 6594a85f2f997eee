-- A finalized invoice keeps its figures; only payment, collection and voiding are recorded on it.
-- FINALIZED -> PAID (nothing left to pay), UNCOLLECTIBLE (dunning gave up) or VOID;
-- UNCOLLECTIBLE -> PAID (paid late) or VOID; PAID -> VOID. VOID is final, but money received for
-- it may still be refunded (or arrive late from a provider): its collection figures move.
create or replace function invoice_guard() returns trigger language plpgsql as $$
declare
  recorded constant text[] := array['status', 'paid_at', 'payment_reference', 'voided_at', 'void_reason', 'updated_at',
    'amount_paid', 'amount_refunded', 'payment_status', 'payment_attempts', 'next_payment_attempt_at', 'dunning', 'uncollectible_at'];
  collected constant text[] := array['amount_paid', 'amount_refunded', 'payment_status', 'payment_attempts', 'next_payment_attempt_at', 'updated_at'];
begin
  if tg_op = 'DELETE' then
    if old.status <> 'DRAFT' then raise exception 'a % invoice cannot be deleted', old.status using errcode = 'restrict_violation'; end if;
    return old;
  end if;
  if old.status = 'DRAFT' then return new; end if;
  if (old.status = 'VOID' and (to_jsonb(new) - collected) is distinct from (to_jsonb(old) - collected))
     or (old.status = 'FINALIZED' and new.status not in ('FINALIZED', 'PAID', 'UNCOLLECTIBLE', 'VOID'))
     or (old.status = 'UNCOLLECTIBLE' and new.status not in ('UNCOLLECTIBLE', 'PAID', 'VOID'))
     or (old.status = 'PAID' and new.status not in ('PAID', 'VOID'))
     or (to_jsonb(new) - recorded) is distinct from (to_jsonb(old) - recorded) then
    raise exception 'a % invoice is immutable', old.status using errcode = 'restrict_violation';
  end if;
  return new;
end $$;
