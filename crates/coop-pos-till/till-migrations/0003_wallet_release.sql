-- Wallet holds to give back: a sale that the wallet was held for online and that then did not
-- happen (the card declined, the disk refused the write), whose release central did not confirm
-- at once. Each sync round tries again until it does.
create table wallet_release (
    sale_id text primary key,
    noted_at text not null
);
