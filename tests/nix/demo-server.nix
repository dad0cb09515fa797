# nix-check: hosts/demo-server with the flake's nixosModules.default, as
# `nixos-rebuild` would evaluate it. Run (from the repository root):
#   ../shared/nix-check/nix-check tests/nix/demo-server.nix
# or every check at once: tests/nix/run.sh
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  contract = import ./contract.nix;

  domain = "coop.example.org";
  matrixHost = "matrix.${domain}";

  # helpers over the evaluated config
  unit = c: name: c.systemd.services.${name};
  sc = c: name: (unit c name).serviceConfig;
  rendered = c: builtins.fromJSON c.environment.etc."cooperage/cooperage.json".source.text;
  oidc = c: lib.head c.services.matrix-synapse.settings.oidc_providers;
  vhost = c: name: c.services.nginx.virtualHosts.${name};
  hasAll = xs: ys: lib.all (x: lib.elem x ys) xs;
  # keys of an attribute set are all among the allowed ones
  keysWithin = allowed: set: lib.all (k: lib.elem k allowed) (lib.attrNames set);
in
eval {
  modules = [
    flake.self.nixosModules.default
    ./nixos-extra.nix
  ];
  config = ../../hosts/demo-server/configuration.nix;
  # keeps what buildRustPackage is given, for the package test below
  pkgsOverlay = flake.recordRustArgs;

  tests = {
    # ---- the coop-sso unit ----------------------------------------------------
    "coop-sso runs `coop-sso serve` with the shared config file" =
      c:
      (sc c "coop-sso").ExecStart
      == ''"${c.services.cooperage.package}/bin/coop-sso" "serve" "--config" "/etc/cooperage/cooperage.json"''
      && (unit c "coop-sso").environment.COOPERAGE_CONFIG == "/etc/cooperage/cooperage.json";

    "coop-sso runs as a dynamic user named after its database role" =
      c:
      let
        s = sc c "coop-sso";
      in
      s.DynamicUser && s.User == "coop_sso" && s.Group == "coop_sso";

    "coop-sso is sandboxed (ProtectSystem=strict, NoNewPrivileges, syscall filter, no capabilities, ...)" =
      c:
      let
        s = sc c "coop-sso";
      in
      s.ProtectSystem == "strict"
      && s.NoNewPrivileges
      && s.PrivateTmp
      && s.ProtectHome
      && s.PrivateDevices
      && s.PrivateUsers
      && s.ProtectKernelTunables
      && s.ProtectKernelModules
      && s.ProtectControlGroups
      && s.RestrictNamespaces
      && s.RestrictSUIDSGID
      && s.LockPersonality
      && s.MemoryDenyWriteExecute
      && s.SystemCallArchitectures == "native"
      && lib.head s.SystemCallFilter == "@system-service"
      && lib.elem "~@privileged" s.SystemCallFilter
      && s.RestrictAddressFamilies == [
        "AF_UNIX"
        "AF_INET"
        "AF_INET6"
      ]
      && s.CapabilityBoundingSet == [ "" ]
      && s.AmbientCapabilities == [ "" ]
      && s.UMask == "0077";

    "coop-sso keeps its state (the generated signing key) in StateDirectory coop-sso" =
      c: (sc c "coop-sso").StateDirectory == "coop-sso" && (sc c "coop-sso").StateDirectoryMode == "0700";

    "coop-sso restarts on failure and has time to stop gracefully" =
      c:
      let
        s = sc c "coop-sso";
      in
      s.Restart == "on-failure" && s.Type == "exec" && s.TimeoutStopSec == "30s";

    "coop-sso starts at boot, after PostgreSQL (postgresql.target) and the generated secrets" =
      c:
      let
        u = unit c "coop-sso";
      in
      lib.elem "multi-user.target" u.wantedBy
      && hasAll [ "postgresql.target" "cooperage-secrets.service" ] u.after
      && hasAll [ "postgresql.target" "cooperage-secrets.service" ] u.requires;

    "coop-sso loads the SMTP password, the Synapse, coop-finance and coop-ims client secrets and the sealing key with LoadCredential" =
      c:
      (sc c "coop-sso").LoadCredential == [
        "coop-finance-oidc-client-secret:/var/lib/cooperage-secrets/coop-finance-oidc-client-secret"
        "coop-ims-oidc-client-secret:/var/lib/cooperage-secrets/coop-ims-oidc-client-secret"
        "smtp-password:/run/secrets/cooperage/smtp-password"
        "sso-secrets-key:/var/lib/cooperage-secrets/sso-secrets-key"
        "synapse-oidc-client-secret:/var/lib/cooperage-secrets/synapse-oidc-client-secret"
      ];

    "the key that seals coop-sso's secrets at rest is generated at first boot, outside the database" =
      c:
      lib.hasInfix "sso-secrets-key" c.systemd.services.cooperage-secrets.script
      && (rendered c).services.sso.secrets_key_file == "sso-secrets-key";

    "coop-sso restarts when cooperage.json changes" =
      c: (unit c "coop-sso").restartTriggers == [ c.services.cooperage.configFile ];

    "the services run the Cooperage workspace package the flake builds" =
      c: c.services.cooperage.package.name == "cooperage-0.1.0" && c.services.cooperage.package.nixCheckArgs.cargoLock.lockFile == ../../Cargo.lock;

    # ---- PostgreSQL -------------------------------------------------------------
    "PostgreSQL runs, with database coop_sso owned by the peer-authenticated role coop_sso" =
      c:
      c.services.postgresql.enable
      && lib.elem "coop_sso" c.services.postgresql.ensureDatabases
      && lib.any (u: u.name == "coop_sso" && u.ensureDBOwnership) c.services.postgresql.ensureUsers;

    "Synapse's role exists, and its database is not created with the default collation" =
      c:
      lib.any (u: u.name == "matrix-synapse" && !u.ensureDBOwnership) c.services.postgresql.ensureUsers
      && !(lib.elem "matrix-synapse" c.services.postgresql.ensureDatabases);

    "Synapse's database is created from template0 with C collation, by postgres, after PostgreSQL" =
      c:
      let
        u = unit c "cooperage-synapse-database";
      in
      u.serviceConfig.User == "postgres"
      && u.serviceConfig.Type == "oneshot"
      && u.serviceConfig.RemainAfterExit
      && lib.elem "postgresql.target" u.after
      && lib.elem "postgresql.target" u.requires
      && lib.elem "matrix-synapse.service" u.before
      && lib.all (s: lib.hasInfix s u.script) [
        ''CREATE DATABASE "matrix-synapse"''
        ''OWNER "matrix-synapse"''
        "TEMPLATE template0"
        "LC_COLLATE 'C'"
        "LC_CTYPE 'C'"
        "datname = 'matrix-synapse'"
      ];

    # ---- Synapse ----------------------------------------------------------------
    "Synapse: server_name is the domain, public_baseurl https://matrix.<domain>/" =
      c:
      c.services.matrix-synapse.enable
      && c.services.matrix-synapse.settings.server_name == domain
      && c.services.matrix-synapse.settings.public_baseurl == "https://${matrixHost}/";

    "Synapse signs members in through coop-sso (issuer, client, secret path, scopes, PKCE)" =
      c:
      let
        p = oidc c;
      in
      lib.length c.services.matrix-synapse.settings.oidc_providers == 1
      && p.idp_id == "cooperage"
      && p.issuer == "https://${domain}"
      && p.discover
      && p.client_id == "synapse"
      && p.client_secret_path == "/run/credentials/matrix-synapse.service/synapse-oidc-client-secret"
      && p.client_auth_method == "client_secret_basic"
      && p.scopes == [
        "openid"
        "profile"
        "email"
      ]
      && p.pkce_method == "always"
      && p.user_profile_method == "auto";

    "Synapse maps preferred_username to the localpart and name to the display name" =
      c:
      let
        m = (oidc c).user_mapping_provider.config;
      in
      m.subject_claim == "sub"
      && m.localpart_template == "{{ user.preferred_username }}"
      && m.display_name_template == "{{ user.name }}"
      && m.email_template == "{{ user.email }}";

    "Synapse has no password login and no open registration" =
      c:
      !c.services.matrix-synapse.settings.password_config.enabled
      && !c.services.matrix-synapse.settings.enable_registration;

    "Synapse loads the client secret it shares with coop-sso, and starts after its database" =
      c:
      let
        u = unit c "matrix-synapse";
      in
      u.serviceConfig.LoadCredential == [
        "synapse-oidc-client-secret:/var/lib/cooperage-secrets/synapse-oidc-client-secret"
      ]
      && hasAll [ "cooperage-synapse-database.service" "cooperage-secrets.service" ] u.after
      && lib.elem "cooperage-synapse-database.service" u.requires;

    "coop-sso knows Synapse as an OIDC client with Synapse's callback" =
      c:
      (rendered c).services.sso.clients == [
        {
          client_id = "synapse";
          name = "Matrix chat";
          redirect_uris = [ "https://${matrixHost}/_synapse/client/oidc/callback" ];
          post_logout_redirect_uris = [ ];
          secret_file = "synapse-oidc-client-secret";
          scopes = [
            "openid"
            "profile"
            "email"
          ];
          audiences = [ ];
          backchannel_logout_uri = "https://${matrixHost}/_synapse/client/oidc/backchannel_logout";
        }
      ];

    "Synapse starts after coop-sso and nginx, and keeps retrying until their metadata answers" =
      c:
      let
        u = unit c "matrix-synapse";
      in
      lib.all (x: lib.elem x u.after && lib.elem x u.wants) [
        "coop-sso.service"
        "nginx.service"
      ]
      # (nixpkgs' own unit restarts it on failure; these make it keep trying, every 5 s)
      && u.startLimitIntervalSec == 0
      && u.serviceConfig.RestartSec == 5;

    "Synapse takes coop-sso's logout tokens (back-channel logout)" =
      c: (lib.head c.services.matrix-synapse.settings.oidc_providers).backchannel_logout_enabled;

    "the shared client secret is generated at first boot into a root-only directory" =
      c:
      let
        u = unit c "cooperage-secrets";
      in
      u.serviceConfig.Type == "oneshot"
      && u.serviceConfig.RemainAfterExit
      && u.serviceConfig.StateDirectory == "cooperage-secrets"
      && u.serviceConfig.StateDirectoryMode == "0700"
      && u.serviceConfig.UMask == "0077"
      && u.serviceConfig.PrivateNetwork
      && lib.hasInfix "synapse-oidc-client-secret" u.script
      && lib.hasInfix "/dev/urandom" u.script
      # never overwrites an existing secret
      && lib.hasInfix ''if [ ! -s "$file" ]'' u.script;

    # ---- nginx, ACME, firewall --------------------------------------------------
    "nginx serves the domain over TLS with an ACME certificate and passes / to coop-sso" =
      c:
      let
        v = vhost c domain;
      in
      c.services.nginx.enable
      && v.enableACME
      && v.forceSSL
      && v.locations."/".proxyPass == "http://127.0.0.1:8101"
      && c.security.acme.certs ? ${domain};

    "nginx serves Synapse's client API and SSO callback on matrix.<domain>, not its admin API" =
      c:
      let
        v = vhost c matrixHost;
      in
      v.enableACME
      && v.forceSSL
      && v.locations."/_matrix".proxyPass == "http://127.0.0.1:8008"
      && v.locations."/_synapse/client".proxyPass == "http://127.0.0.1:8008"
      && lib.hasInfix "client_max_body_size 50M" v.locations."/_matrix".extraConfig
      && !(v.locations ? "/_synapse/admin")
      && !(v.locations ? "/_synapse")
      && c.security.acme.certs ? ${matrixHost};

    "the domain's .well-known delegates Matrix to matrix.<domain>:443" =
      c:
      let
        l = (vhost c domain).locations;
      in
      lib.hasInfix ''return 200 '{"m.server":"${matrixHost}:443"}';'' l."= /.well-known/matrix/server".extraConfig
      && lib.hasInfix ''return 200 '{"m.homeserver":{"base_url":"https://${matrixHost}"}}';'' l."= /.well-known/matrix/client".extraConfig
      && lib.hasInfix "default_type application/json;" l."= /.well-known/matrix/client".extraConfig
      && lib.hasInfix "Access-Control-Allow-Origin *" l."= /.well-known/matrix/client".extraConfig;

    "nginx uses the recommended TLS and proxy settings" =
      c:
      c.services.nginx.recommendedTlsSettings
      && c.services.nginx.recommendedProxySettings
      && (vhost c domain).locations."/".recommendedProxySettings;

    "ACME: the operator accepted the terms and gave a contact address" =
      c: c.security.acme.acceptTerms && c.security.acme.defaults.email != null;

    "the firewall opens 80 and 443 (and ssh)" =
      c:
      c.networking.firewall.enable
      && hasAll [
        22
        80
        443
      ] c.networking.firewall.allowedTCPPorts;

    # ---- backups ------------------------------------------------------------------
    "PostgreSQL dumps coop_sso and matrix-synapse nightly, from timers" =
      c:
      c.services.postgresqlBackup.enable
      && hasAll [ "coop_sso" "matrix-synapse" ] c.services.postgresqlBackup.databases
      && c.systemd.timers."postgresqlBackup-coop_sso".timerConfig.OnCalendar == [ "*-*-* 01:15:00" ]
      && c.systemd.timers."postgresqlBackup-matrix-synapse".timerConfig.OnCalendar == [ "*-*-* 01:15:00" ]
      && lib.elem "timers.target" c.systemd.timers."postgresqlBackup-coop_sso".wantedBy
      && (unit c "postgresqlBackup-coop_sso").serviceConfig.User == "postgres";

    # ---- cooperage.json -----------------------------------------------------------
    "cooperage.json is /etc/cooperage/cooperage.json, rendered from services.cooperage.settings" =
      c:
      c.environment.etc."cooperage/cooperage.json".source == c.services.cooperage.configFile
      && rendered c == c.services.cooperage.settings;

    "cooperage.json has only the contract's keys (docs/config.md), and its required ones" =
      c:
      let
        j = rendered c;
      in
      keysWithin contract.top j
      && hasAll contract.required (lib.attrNames j)
      && keysWithin contract.organisation j.organisation
      && keysWithin contract.locale j.locale
      && keysWithin contract.memberNumber j.member_number
      && keysWithin contract.mail j.mail
      && keysWithin contract.matrix j.matrix
      && keysWithin contract.serviceSections j.services
      && keysWithin (contract.serviceCommon ++ contract.sso) j.services.sso
      && lib.all (keysWithin contract.ssoClient) j.services.sso.clients
      && lib.all (cl: keysWithin [ "rates" ] cl && lib.all (keysWithin contract.vatRate) cl.rates) (
        lib.attrValues j.vat_classes
      );

    "cooperage.json describes the demo co-op" =
      c:
      let
        j = rendered c;
      in
      j.domain == domain
      && j.organisation == {
        name = "Röstånga Matkooperativ";
        org_number = "802000-0000";
        accent_colour = "#2f6b3a";
      }
      && j.currency == "SEK"
      && j.locale == {
        default = "sv";
        languages = [
          "sv"
          "en"
        ];
        # From the machine's time.timeZone.
        time_zone = "Europe/Stockholm";
      }
      && j.member_only_shop
      && j.member_number == {
        prefix = "";
        digits = 5;
      }
      && j.matrix == {
        enable = true;
        server_name = domain;
        public_url = "https://${matrixHost}";
      }
      && j.services.sso.listen == "127.0.0.1:8101";

    "cooperage.json carries Sweden's VAT schedule, with the 2026-2027 food cut" =
      c:
      (rendered c).vat_classes == {
        food.rates = [
          {
            from = "2024-01-01";
            percent = "12";
          }
          {
            from = "2026-04-01";
            percent = "6";
          }
          {
            from = "2028-01-01";
            percent = "12";
          }
        ];
        standard.rates = [
          {
            from = "1990-07-01";
            percent = "25";
          }
        ];
        books.rates = [
          {
            from = "2024-01-01";
            percent = "6";
          }
        ];
      };

    "cooperage.json names secrets by credential name, never by path or value" =
      c:
      let
        j = rendered c;
      in
      j.mail.smtp_password_file == "smtp-password"
      && lib.all (cl: !(lib.hasPrefix "/" cl.secret_file)) j.services.sso.clients
      && !(lib.hasInfix "/run/secrets" c.environment.etc."cooperage/cooperage.json".source.text)
      && !(lib.hasInfix "/var/lib/cooperage-secrets" c.environment.etc."cooperage/cooperage.json".source.text);

    "tests/fixtures/demo-server-cooperage.json is what the module renders" =
      c: builtins.fromJSON (builtins.readFile ../fixtures/demo-server-cooperage.json) == rendered c;

    # ---- build-time checks, admin command ------------------------------------------
    "coop-sso check-config validates cooperage.json while the system is built" =
      c:
      lib.any (
        d: d.name == "coop-sso-check-config" && lib.hasInfix "/bin/coop-sso check-config --config ${c.services.cooperage.configFile}" d.buildCommand
      ) c.system.checks;

    "cooperage-manage restores a database from its dump, checking the dump before dropping anything" =
      c:
      let
        manage = lib.findFirst (p: p.name == "cooperage-manage") null c.environment.systemPackages;
        t = manage.text;
        at = needle: lib.stringLength (lib.head (lib.splitString needle t));
      in
      lib.all (x: lib.hasInfix x t) [
        "sso) unit=coop-sso.service; database=coop_sso ;;"
        "gzip -t \"$dump\""
        "runuser -u postgres -- dropdb --if-exists \"$database\""
        "psql -v ON_ERROR_STOP=1 -q -d postgres"
        "systemctl start \"$unit\""
      ]
      && at "gzip -t" < at "dropdb"
      && at "systemctl stop" < at "dropdb";

    "cooperage-manage runs coop-sso subcommands as the service's user, with its credentials" =
      c:
      let
        manage = lib.findFirst (p: p.name == "cooperage-manage") null c.environment.systemPackages;
      in
      manage != null
      && lib.all (s: lib.hasInfix s manage.text) [
        "sso)"
        "systemd-run"
        "-p 'DynamicUser=yes'"
        "-p 'User=coop_sso'"
        "-p 'StateDirectory=coop-sso'"
        "-p 'LoadCredential=synapse-oidc-client-secret:/var/lib/cooperage-secrets/synapse-oidc-client-secret'"
        "--setenv=COOPERAGE_CONFIG=/etc/cooperage/cooperage.json"
        "/bin/coop-sso \"$@\""
      ]
      && !(lib.hasInfix "RuntimeDirectory" manage.text);
  };
}
