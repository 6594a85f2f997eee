-- A published rule-set version keeps its content, so the prices an event was rated with can
-- always be read back.
create or replace trigger rule_set_version_immutable before update or delete on rule_set_version
  for each row execute function refuse_change();
