-- Signing keys and TOTP secrets are stored sealed (AES-256-GCM under a key from a credential file,
-- see src/sealing.rs): 'SEALv1', a 12-byte nonce, the 20-byte secret and a 16-byte tag. Secrets
-- stored in the clear before are sealed by the service at its next start.

alter table member drop constraint member_totp_secret_check;
alter table member add constraint member_totp_secret_check check (
    totp_secret is null
    or octet_length(totp_secret) = 20
    or (substring(totp_secret from 1 for 6) = '\x5345414c7631'::bytea and octet_length(totp_secret) = 54)
);
