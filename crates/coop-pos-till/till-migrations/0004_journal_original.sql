-- A return names the sale it returns from, so that what came back of a sale is found without
-- reading every record. Filled from the records already written.
alter table journal add column original_sale text;
update journal set original_sale = json_extract(record, '$.original_sale')
    where json_extract(record, '$.original_sale') is not null;
create index journal_original_idx on journal (original_sale) where original_sale is not null;

create trigger journal_original_fixed before update of original_sale on journal
begin
    select raise(abort, 'the sales journal is append-only');
end;
