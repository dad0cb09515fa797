-- Access tokens are signed with a P-256 key (ES256), ID tokens and logout tokens with RSA
-- (RS256): each key says which it is, and each algorithm has its own current key.

alter table signing_key add column alg text not null default 'RS256' check (alg in ('RS256', 'ES256'));
