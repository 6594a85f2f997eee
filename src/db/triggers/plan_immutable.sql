-- A plan version is published once and never changes: a new price is a new version.
create or replace trigger plan_immutable before update or delete on plan
  for each row execute function refuse_change();
