-- An open-price line: an item whose code the catalogue does not know, sold at a price a
-- manager allowed. It has no product (the nil id); the line keeps what the cashier typed: the
-- code, a description, the VAT class, and the manager who allowed it.
alter table basket_line add column open_code text;
alter table basket_line add column open_name text check (open_name is null or length(open_name) between 1 and 100);
alter table basket_line add column open_vat_class text;
alter table basket_line add column approved_by text;
