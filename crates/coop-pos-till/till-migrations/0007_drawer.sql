-- Each time the cash drawer opened without a sale (a manager's "no sale"): who asked, which
-- manager allowed it, when. Kept, never changed: the shift's drawer is counted against it.
create table drawer_opening (
    opening_id text primary key,
    cashier text not null,
    manager text not null,
    at text not null
) strict;

create index drawer_opening_at_idx on drawer_opening (at);

create trigger drawer_opening_no_delete before delete on drawer_opening
begin
    select raise(abort, 'drawer openings are kept');
end;

create trigger drawer_opening_no_update before update on drawer_opening
begin
    select raise(abort, 'drawer openings are kept');
end;
