# Matrix chat for the co-op: Synapse at https://matrix.<domain>, with Matrix
# ids @name:<domain> (delegated from https://<domain>/.well-known/matrix/*),
# members signing in through coop-sso only (OpenID Connect, PKCE).
#
#   - Synapse's PostgreSQL database "matrix-synapse" is created with C
#     collation from template0, as Synapse requires, by a oneshot unit
#     (ensureDatabases would use the cluster's default collation);
#   - the OIDC client `synapse` is added to coop-sso's clients; its secret is
#     generated at first boot unless the operator provides one, and both
#     coop-sso and Synapse read it through LoadCredential;
#   - nginx serves the client and federation APIs on matrix.<domain> (port
#     443, as the delegation says) and the .well-known files on <domain>.
{ config, lib, ... }:
let
  inherit (lib)
    literalExpression
    mkDefault
    mkIf
    mkOption
    types
    ;

  cfg = config.services.cooperage;
  synapse = config.services.matrix-synapse;
  hostName = cfg.matrix.hostName;
  client = cfg.sso.clients.synapse;

  # coop-sso's issuer: its public URL, without a trailing slash
  issuer = lib.removeSuffix "/" (cfg.settings.public_url or "https://${cfg.domain}");

  clientListener = lib.findFirst (
    l: lib.any (r: lib.elem "client" r.names) l.resources
  ) null synapse.settings.listeners;
  # Where nginx reaches Synapse's client listener: its unix socket, or its first bind address
  # (an IPv6 one in brackets; a wildcard as the loopback of its family).
  synapseUpstream =
    let
      bind = lib.head ((if clientListener.bind_addresses == null then [ ] else clientListener.bind_addresses) ++ [ "127.0.0.1" ]);
      host =
        if bind == "0.0.0.0" then
          "127.0.0.1"
        else if bind == "::" then
          "[::1]"
        else if lib.hasInfix ":" bind then
          "[${bind}]"
        else
          bind;
    in
    if clientListener == null then
      "http://127.0.0.1:8008"
    else if clientListener.path or null != null then
      "http://unix:${toString clientListener.path}:"
    else if clientListener.port == null then
      "http://127.0.0.1:8008"
    else
      "http://${host}:${toString clientListener.port}";

  wellKnown = data: ''
    default_type application/json;
    add_header Access-Control-Allow-Origin * always;
    return 200 '${builtins.toJSON data}';
  '';

  createDatabase = ''
    CREATE DATABASE "matrix-synapse"
      OWNER "matrix-synapse"
      TEMPLATE template0
      ENCODING 'UTF8'
      LC_COLLATE 'C'
      LC_CTYPE 'C';'';
in
{
  options.services.cooperage.matrix = {
    enable = lib.mkEnableOption "Matrix chat (Synapse), which members sign in to with their co-op account";

    hostName = mkOption {
      type = types.str;
      default = "matrix.${cfg.domain}";
      defaultText = literalExpression ''"matrix.''${config.services.cooperage.domain}"'';
      description = ''
        Where Synapse answers (its DNS name must point at this machine).
        Matrix ids stay `@name:<domain>`: `https://<domain>/.well-known/matrix/`
        delegates to this host.
      '';
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = cfg.matrix.enable -> cfg.sso.enable;
            message = ''
              services.cooperage.matrix.enable is true but services.cooperage.sso.enable is false.
              Members sign in to Matrix with their co-op account through coop-sso (OpenID Connect);
              enable coop-sso (services.cooperage.sso.enable = true;) or turn Matrix off.
            '';
          }
          {
            assertion = cfg.matrix.enable -> hostName != cfg.domain;
            message = ''
              services.cooperage.matrix.hostName must differ from services.cooperage.domain
              ("${cfg.domain}"): coop-sso owns the domain's root, Synapse needs a host of its own.
            '';
          }
        ];

        services.cooperage.settings.matrix =
          if cfg.matrix.enable then
            {
              enable = true;
              server_name = cfg.domain;
              public_url = "https://${hostName}";
            }
          else
            { enable = false; };
      }

      (mkIf (cfg.matrix.enable && cfg.sso.enable) {
        services.cooperage.sso.clients.synapse = {
          name = mkDefault "Matrix chat";
          redirectUris = [ "https://${hostName}/_synapse/client/oidc/callback" ];
          # Suspending a member, a sign-out or a password reset at coop-sso ends their Matrix
          # sessions too (OpenID Connect Back-Channel Logout; Synapse 1.71+).
          backchannelLogoutUri = "https://${hostName}/_synapse/client/oidc/backchannel_logout";
        };

        services.matrix-synapse = {
          enable = true;
          settings = {
            server_name = cfg.domain;
            public_baseurl = "https://${hostName}/";
            # members have no Matrix password: they sign in through coop-sso
            password_config.enabled = mkDefault false;
            enable_registration = false;
            oidc_providers = [
              {
                idp_id = "cooperage";
                idp_name = cfg.organisation.name;
                inherit issuer;
                discover = true;
                client_id = "synapse";
                client_secret_path = "/run/credentials/matrix-synapse.service/${client.credential}";
                client_auth_method = "client_secret_basic";
                scopes = [
                  "openid"
                  "profile"
                  "email"
                ];
                pkce_method = "always";
                # Logout tokens from coop-sso end the sessions with their `sid`.
                backchannel_logout_enabled = true;
                # the claims are in the ID token (see docs/config.md)
                user_profile_method = "auto";
                allow_existing_users = false;
                user_mapping_provider.config = {
                  subject_claim = "sub";
                  localpart_template = "{{ user.preferred_username }}";
                  display_name_template = "{{ user.name }}";
                  email_template = "{{ user.email }}";
                };
              }
            ];
          };
        };

        # the client secret, shared with coop-sso; the database, created first
        # Synapse reads coop-sso's OIDC metadata (through nginx and its certificate) when it starts
        # and exits when it cannot: it starts after both, and keeps retrying instead of giving
        # up, so a first boot whose certificate is not issued yet recovers by itself.
        systemd.services.matrix-synapse = {
          after = [
            "cooperage-synapse-database.service"
            "coop-sso.service"
            "nginx.service"
          ] ++ lib.optional (client.secretFile == null) "cooperage-secrets.service";
          requires = [ "cooperage-synapse-database.service" ];
          wants = [
            "coop-sso.service"
            "nginx.service"
          ] ++ lib.optional (client.secretFile == null) "cooperage-secrets.service";
          startLimitIntervalSec = 0;
          serviceConfig.RestartSec = 5;
          serviceConfig.LoadCredential = [ "${client.credential}:${client.secretPath}" ];
        };

        # The OIDC client secret reaches the main process only (LoadCredential above).
        assertions = [
          {
            assertion = config.services.matrix-synapse.workers == { };
            message = ''
              services.matrix-synapse.workers is not supported with services.cooperage.matrix: the
              workers would not get coop-sso's OIDC client secret. Run Synapse without workers.
            '';
          }
        ];

        services.postgresql = {
          enable = true;
          # the role only; the database needs C collation, see below
          ensureUsers = [ { name = "matrix-synapse"; } ];
        };

        systemd.services.cooperage-synapse-database = {
          description = "Create Synapse's database (C collation)";
          after = [ "postgresql.target" ];
          requires = [ "postgresql.target" ];
          before = [ "matrix-synapse.service" ];
          path = [ config.services.postgresql.package ];
          environment.PGPORT = toString config.services.postgresql.settings.port;
          script = ''
            if [ "$(psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'matrix-synapse'")" != 1 ]; then
              psql -v ON_ERROR_STOP=1 <<'SQL'
            ${createDatabase}
            SQL
            fi
          '';
          serviceConfig = {
            Type = "oneshot";
            RemainAfterExit = true;
            User = "postgres";
            Group = "postgres";
            NoNewPrivileges = true;
            PrivateTmp = true;
            ProtectHome = true;
            ProtectSystem = "strict";
          };
        };

        services.postgresqlBackup.databases = mkIf cfg.backup.enable [ "matrix-synapse" ];

        services.nginx.virtualHosts = {
          ${cfg.domain}.locations = {
            "= /.well-known/matrix/server".extraConfig = wellKnown { "m.server" = "${hostName}:443"; };
            "= /.well-known/matrix/client".extraConfig = wellKnown {
              "m.homeserver".base_url = "https://${hostName}";
            };
          };
          ${hostName} = {
            enableACME = mkDefault true;
            forceSSL = mkDefault true;
            locations = {
              # client-server and federation APIs, and the SSO callback;
              # Synapse's admin API (/_synapse/admin) stays unexposed
              "/_matrix" = {
                proxyPass = synapseUpstream;
                extraConfig = "client_max_body_size ${synapse.settings.max_upload_size};";
              };
              "/_synapse/client".proxyPass = synapseUpstream;
              "/".return = "302 https://${cfg.domain}/";
            };
          };
        };
      })
    ]
  );
}
