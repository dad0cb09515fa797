-- Money in: a member claims a top-up (what they paid, when, with which reference); a bookkeeper
-- confirms it against the bank statement (a second, different bookkeeper too above the co-op's
-- threshold), and only then is it credited to the wallet. Bank statements are imported line by
-- line; a line matches a claim, or a bookkeeper matches it by hand, or sets it aside.

-- Each wallet's payment reference: a Swedish OCR number (digits, a length digit and a Luhn
-- check digit) that a member puts on their transfer, so the import finds the wallet itself.
alter table wallet add column reference_serial bigint generated always as identity;
alter table wallet add column payment_reference text unique
    check (payment_reference ~ '^[0-9]{2,25}$');

create table bank_statement (
    bank_statement_id uuid primary key,
    format text not null check (format in ('csv', 'camt053')),
    -- What the bank calls the statement (camt.053's Stmt/Id), if anything.
    statement_ref text check (statement_ref is null or char_length(statement_ref) between 1 and 100),
    file_name text check (file_name is null or char_length(file_name) between 1 and 200),
    imported_by uuid not null,
    imported_at timestamptz not null default now()
);

create table bank_line (
    bank_line_id bigint generated always as identity primary key,
    bank_statement_id uuid not null references bank_statement,
    booked_on date not null,
    -- Money in is positive.
    amount numeric(14, 2) not null check (amount <> 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    -- The reference the payer gave (an OCR number or free text), and who paid.
    reference text not null default '' check (char_length(reference) <= 140),
    counterparty text not null default '' check (char_length(counterparty) <= 140),
    -- The bank's own id of the entry: importing the same statement twice adds nothing.
    bank_ref text not null check (char_length(bank_ref) between 1 and 200) unique,
    status text not null default 'unmatched'
        check (status in ('unmatched', 'matched', 'set_aside')),
    handled_by uuid,
    handled_at timestamptz,
    note text check (note is null or char_length(note) between 1 and 500)
);

create index bank_line_unmatched_idx on bank_line (booked_on) where status = 'unmatched';

create table top_up_claim (
    top_up_claim_id uuid primary key,
    wallet_id uuid not null references wallet,
    -- The member who claimed it; null when the bank line came first (the member paid with their
    -- payment reference and claimed nothing).
    claimed_by uuid,
    amount numeric(14, 2) not null check (amount > 0),
    paid_on date not null,
    bank_reference text not null check (char_length(bank_reference) between 1 and 140),
    status text not null default 'claimed'
        check (status in ('claimed', 'approved_once', 'confirmed', 'rejected')),
    -- The bank line it was matched to: one line pays one claim.
    bank_line_id bigint unique references bank_line,
    first_by uuid,
    first_at timestamptz,
    confirmed_by uuid,
    confirmed_at timestamptz,
    rejected_by uuid,
    rejected_at timestamptz,
    reject_reason text check (reject_reason is null or char_length(reject_reason) between 1 and 500),
    journal_entry_id bigint unique references journal_entry,
    created_at timestamptz not null default now(),
    -- Four eyes, in the database: nobody confirms their own claim, and the second confirmation
    -- is someone else's than the first.
    constraint top_up_not_own_first check (first_by is distinct from claimed_by or first_by is null),
    constraint top_up_not_own_confirm check (confirmed_by is distinct from claimed_by or confirmed_by is null),
    constraint top_up_second_eyes check (confirmed_by is distinct from first_by or confirmed_by is null),
    constraint top_up_not_own_reject check (rejected_by is distinct from claimed_by or rejected_by is null),
    check ((status = 'confirmed') = (confirmed_by is not null and journal_entry_id is not null)),
    check ((status = 'rejected') = (rejected_by is not null and reject_reason is not null)),
    check (status <> 'approved_once' or first_by is not null)
);

create index top_up_claim_open_idx on top_up_claim (wallet_id)
    where status in ('claimed', 'approved_once');
create index top_up_claim_wallet_idx on top_up_claim (wallet_id, created_at);

-- A bank line is matched exactly when a claim points at it.
create function bank_line_matched() returns trigger
language plpgsql as $$
begin
    if new.bank_line_id is not null then
        update bank_line set status = 'matched' where bank_line_id = new.bank_line_id;
    end if;
    return new;
end
$$;

create trigger top_up_claim_matches_line after insert or update of bank_line_id on top_up_claim
    for each row execute function bank_line_matched();

alter table wallet_movement add column top_up_claim_id uuid unique references top_up_claim;
