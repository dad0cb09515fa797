-- A purchase order mailed to its supplier: to whom and when, the last time it went. A manager
-- may send it again (the supplier lost it, the address was wrong), which moves both.

alter table purchase_order
    add column mailed_to text check (mailed_to is null or mailed_to ~ '^[^@\s]+@[^@\s]+$'),
    add column mailed_at timestamptz,
    add check ((mailed_to is null) = (mailed_at is null)),
    add check ((mailed_at is null) or (status in ('sent', 'received')));
