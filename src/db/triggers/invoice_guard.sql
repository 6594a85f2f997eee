-- A finalized invoice keeps its figures; only payment and voiding are recorded on it
-- (src/db/functions/invoice_guard.sql).
create or replace trigger invoice_guard before update or delete on invoice
  for each row execute function invoice_guard();
