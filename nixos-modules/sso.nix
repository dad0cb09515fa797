# coop-sso: members, households, roles and sign-in; the co-op's OpenID
# Connect provider. It owns the domain's root: https://<domain>/ is its UI and
# https://<domain> its issuer.
#
# Besides the suite's own services (which coop-sso registers by itself), it
# serves the OIDC clients listed in `services.cooperage.sso.clients`: Synapse
# (added by matrix.nix) and whatever else the co-op runs (a forum, Nextcloud).
# Each client's secret is a file, provided by the operator or generated at
# first boot, and reaches coop-sso, and the client, through LoadCredential.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkIf
    mkMerge
    mkOption
    types
    ;

  cfg = config.services.cooperage;
  json = pkgs.formats.json { };
  secretsDir = "/var/lib/cooperage-secrets";

  secretPathType = types.pathWith {
    absolute = true;
    inStore = false;
  };

  clientModule =
    { name, config, ... }:
    {
      options = {
        name = mkOption {
          type = types.str;
          default = name;
          example = "Matrix chat";
          description = "The client's name, as members see it when they sign in to it.";
        };
        redirectUris = mkOption {
          type = types.listOf types.str;
          example = [ "https://forum.coop.example.org/auth/oidc/callback" ];
          description = "Redirect URIs the client may send members back to (exact match).";
        };
        postLogoutRedirectUris = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "Where the client may send members after signing out.";
        };
        scopes = mkOption {
          type = types.listOf (
            types.enum [
              "openid"
              "profile"
              "email"
              "member"
              "roles"
              "offline_access"
            ]
          );
          default = [
            "openid"
            "profile"
            "email"
          ];
          example = [
            "openid"
            "profile"
            "email"
            "roles"
          ];
          description = ''
            What a member's sign-in may give this client. `member` adds the
            member number and household, `roles` the member's roles,
            `offline_access` refresh tokens. Scopes the client asks for beyond
            these are not granted.
          '';
        };
        audiences = mkOption {
          type = types.listOf types.str;
          default = [ ];
          example = [ "coop-finance" ];
          description = ''
            Suite services (by client id, e.g. `coop-finance`) that accept this
            client's access tokens, beside coop-sso's userinfo. Each of them
            must also list the client in its `trusted_clients` setting.
          '';
        };
        backchannelLogoutUri = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "https://forum.coop.example.org/auth/oidc/backchannel-logout";
          description = ''
            Where coop-sso posts a logout token (OpenID Connect Back-Channel
            Logout) when a session of this client ends: the member signs out,
            is suspended, resets their password or loses a role.
          '';
        };
        secretFile = mkOption {
          type = types.nullOr secretPathType;
          default = null;
          example = "/run/secrets/cooperage/forum-oidc-client-secret";
          description = ''
            File holding the client secret, outside the Nix store. `null`
            generates one at first boot into
            `${secretsDir}/<client id>-oidc-client-secret`, where the
            operator copies it from into the client's own configuration.
          '';
        };
        credential = mkOption {
          type = types.str;
          readOnly = true;
          default = "${name}-oidc-client-secret";
          description = "Name under which the secret is loaded with LoadCredential.";
        };
        secretPath = mkOption {
          type = types.str;
          readOnly = true;
          default = if config.secretFile != null then toString config.secretFile else "${secretsDir}/${config.credential}";
          defaultText = literalExpression ''if secretFile != null then secretFile else "${secretsDir}/''${credential}"'';
          description = "The file the secret is read from (provided or generated).";
        };
      };
    };

  clients = cfg.sso.clients;
in
{
  options.services.cooperage.sso = {
    enable = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to run coop-sso, the co-op's accounts and sign-in (every other service needs it).";
    };

    package = mkOption {
      type = types.package;
      default = cfg.package;
      defaultText = literalExpression "config.services.cooperage.package";
      description = "Package providing `bin/coop-sso`.";
    };

    listen = mkOption {
      type = types.str;
      default = "127.0.0.1:8101";
      example = "unix:/run/coop-sso/http.sock";
      description = "Where coop-sso listens (nginx forwards to it): `host:port` or `unix:/path`.";
    };

    secretsKeyFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      example = "/run/secrets/cooperage/sso-secrets-key";
      description = ''
        File holding the key (32 bytes as 64 hex digits) that seals
        coop-sso's signing keys and the members' TOTP secrets in the
        database, so that a database backup alone cannot mint tokens or copy
        second factors. `null` generates one at first boot into
        `${secretsDir}/sso-secrets-key`. Back it up apart from the database
        backups; see "Keys and their loss" in docs/operators.md.
      '';
    };

    signingKeyFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      description = ''
        File holding coop-sso's token signing key. `null` lets coop-sso
        generate one into its state directory on first start.
      '';
    };

    clients = mkOption {
      type = types.attrsOf (types.submodule clientModule);
      default = { };
      example = literalExpression ''
        {
          forum = {
            name = "Forum";
            redirectUris = [ "https://forum.coop.example.org/auth/oidc/callback" ];
            secretFile = "/run/secrets/cooperage/forum-oidc-client-secret";
          };
        }
      '';
      description = ''
        Further OpenID Connect clients, by client id, besides the suite's
        own services. With Matrix enabled, `synapse` is one of them.
      '';
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = {
        bookkeeper_appointment = "admins";
        log_filter = "info,coop_sso=debug";
      };
      description = ''
        Further keys of the `services.sso` section of cooperage.json (see
        docs/config.md), such as `bookkeeper_appointment` or `log_filter`.
      '';
    };
  };

  config = mkIf (cfg.enable && cfg.sso.enable) {
    assertions = lib.mapAttrsToList (id: c: {
      assertion =
        c.redirectUris != [ ]
        && lib.all (
          u: lib.hasPrefix "https://" u || lib.hasPrefix "http://localhost" u || lib.hasPrefix "http://127.0.0.1" u
        ) c.redirectUris;
      message = ''
        services.cooperage.sso.clients.${id}.redirectUris must list at least one URI, each https://
        (or http://localhost for development); it is: [ ${lib.concatStringsSep " " c.redirectUris} ].
      '';
    }) clients;

    services.cooperage.internal.services.sso = {
      enable = true;
      description = "Cooperage accounts and sign-in (coop-sso)";
      package = cfg.sso.package;
      inherit (cfg.sso) listen;
      urlPath = "/";
      credentials =
        lib.mapAttrs' (_: c: lib.nameValuePair c.credential c.secretPath) clients
        // lib.optionalAttrs (cfg.sso.signingKeyFile != null) {
          sso-signing-key = toString cfg.sso.signingKeyFile;
        }
        // {
          # Seals the signing keys and TOTP secrets in the database (docs/operators.md).
          sso-secrets-key =
            if cfg.sso.secretsKeyFile != null then toString cfg.sso.secretsKeyFile else "${secretsDir}/sso-secrets-key";
        };
    };

    services.cooperage.internal.generatedSecrets =
      lib.mapAttrsToList (_: c: c.credential) (lib.filterAttrs (_: c: c.secretFile == null) clients)
      ++ lib.optional (cfg.sso.secretsKeyFile == null) "sso-secrets-key";

    services.cooperage.settings.services.sso = mkMerge [
      cfg.sso.settings
      {
        clients = lib.mapAttrsToList (id: c: {
          client_id = id;
          inherit (c) name;
          redirect_uris = c.redirectUris;
          post_logout_redirect_uris = c.postLogoutRedirectUris;
          secret_file = c.credential;
          inherit (c) scopes audiences;
        }
        // lib.optionalAttrs (c.backchannelLogoutUri != null) {
          backchannel_logout_uri = c.backchannelLogoutUri;
        }) clients;
      }
      (mkIf (cfg.sso.signingKeyFile != null) { signing_key_file = "sso-signing-key"; })
      { secrets_key_file = "sso-secrets-key"; }
    ];
  };
}
