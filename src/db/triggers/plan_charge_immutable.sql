-- A plan version's charges are part of it, and as immutable.
create or replace trigger plan_charge_immutable before update or delete on plan_charge
  for each row execute function refuse_change();
