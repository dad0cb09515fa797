# The keys of cooperage.json, as docs/config.md (the contract with the Rust
# binaries, which reject unknown keys) lists them. When docs/config.md gains
# a key, add it here; the checks then allow the module to render it.
{
  top = [
    "organisation"
    "domain"
    "public_url"
    "locale"
    "currency"
    "cash_rounding"
    "vat_classes"
    "member_only_shop"
    "member_number"
    "mail"
    "matrix"
    "services"
  ];
  required = [
    "organisation"
    "domain"
    "locale"
    "currency"
    "vat_classes"
  ];
  organisation = [
    "name"
    "org_number"
    "logo_file"
    "accent_colour"
  ];
  locale = [
    "default"
    "languages"
    "time_zone"
  ];
  vatRate = [
    "from"
    "percent"
  ];
  memberNumber = [
    "prefix"
    "digits"
  ];
  mail = [
    "from"
    "smtp_host"
    "smtp_port"
    "smtp_security"
    "smtp_username"
    "smtp_password_file"
  ];
  matrix = [
    "enable"
    "server_name"
    "public_url"
  ];
  serviceSections = [
    "sso"
    "pos"
    "ims"
    "finance"
    "buyers_club"
  ];
  serviceCommon = [
    "listen"
    "database_url"
    "public_url"
    "state_directory"
    "log_filter"
    "client_secret_file"
    "trusted_clients"
  ];
  sso = [
    "bookkeeper_appointment"
    "signing_key_file"
    "clients"
    "refresh_token_max_days"
    "service_scopes"
    "secrets_key_file"
  ];
  ssoClient = [
    "client_id"
    "name"
    "redirect_uris"
    "post_logout_redirect_uris"
    "secret_file"
    "scopes"
    "audiences"
    "backchannel_logout_uri"
  ];
}
