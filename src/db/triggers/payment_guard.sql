-- Payments are append-only but for the settlement of a PENDING one
-- (src/db/functions/payment_guard.sql).
create or replace trigger payment_guard before update or delete on payment
  for each row execute function payment_guard();
