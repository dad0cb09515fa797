-- The till pairing (device grant): the code alphabet without L (as its comment always said: no
-- look-alikes), where and as what the till asked, and its own polling interval (RFC 8628 §3.5:
-- slow_down adds 5 seconds).

alter table device_authorization drop constraint device_authorization_user_code_check;
-- Rows from before may hold an L; they expire within ten minutes and are deleted after a day.
alter table device_authorization add constraint device_authorization_user_code_check
    check (user_code ~ '^[BCDFGHJKMNPQRSTVWXZ]{8}$') not valid;

alter table device_authorization
    add column client_ip text not null default 'unknown' check (char_length(client_ip) <= 64),
    add column device_name text check (char_length(device_name) between 1 and 100),
    add column interval_seconds integer not null default 5 check (interval_seconds between 5 and 300);

create index device_authorization_ip_idx on device_authorization (client_ip, created_at);
create index device_authorization_expires_idx on device_authorization (expires_at);
