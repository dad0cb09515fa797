-- A manual entry's evidence: the supplier's invoice or the receipt, as the bookkeeper scanned it.
-- Kept with the entry for good (bookkeeping law wants the evidence kept as long as the books).
create table entry_attachment (
    entry_attachment_id bigint generated always as identity primary key,
    journal_entry_id bigint not null references journal_entry,
    file_name text not null check (char_length(file_name) between 1 and 200),
    -- Only what a browser shows safely inline, checked by the file's first bytes too.
    content_type text not null
        check (content_type in ('application/pdf', 'image/jpeg', 'image/png')),
    content bytea not null check (octet_length(content) between 1 and 5242880),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    added_by uuid not null,
    added_at timestamptz not null default now()
);

create index entry_attachment_entry_idx on entry_attachment (journal_entry_id);

create trigger entry_attachment_append_only before update or delete on entry_attachment
    for each row execute function ledger_is_append_only();
