-- Lines change only while their invoice is a draft (src/db/functions/invoice_line_guard.sql).
create or replace trigger invoice_line_guard before insert or update or delete on invoice_line
  for each row execute function invoice_line_guard();
