# nix-check: other shapes of a co-op server than the demo's, each a named
# evaluation with its own tests. Run: ../shared/nix-check/nix-check tests/nix/variants.nix
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };

  base = {
    networking.hostName = "coop";
    system.stateVersion = "26.05";
    nixpkgs.hostPlatform = "x86_64-linux";
    security.acme = {
      acceptTerms = true;
      defaults.email = "it@coop.example.org";
    };
    services.cooperage = {
      enable = true;
      domain = "coop.example.org";
      organisation.name = "Test Co-op";
    };
  };

  check =
    config: tests:
    eval {
      modules = [
        flake.self.nixosModules.default
        ./nixos-extra.nix
      ];
      config = {
        imports = [
          base
          config
        ];
      };
      inherit tests;
    };

  rendered = c: builtins.fromJSON c.environment.etc."cooperage/cooperage.json".source.text;
  sc = c: name: c.systemd.services.${name}.serviceConfig;
in
{
  # only what a co-op must say: no Matrix, no mail
  minimal = check { } {
    "without Matrix there is no Synapse, no client secret and no matrix host" =
      c:
      !c.services.matrix-synapse.enable
      && !(lib.hasInfix "synapse" c.systemd.services.cooperage-secrets.script)
      && !(c.systemd.services ? cooperage-synapse-database)
      && !(c.services.nginx.virtualHosts ? "matrix.coop.example.org")
      # only the key that seals coop-sso's secrets at rest, generated at first boot
      && (sc c "coop-sso").LoadCredential == [ "sso-secrets-key:/var/lib/cooperage-secrets/sso-secrets-key" ];
    "cooperage.json says matrix is off and has no mail section" =
      c:
      let
        j = rendered c;
      in
      j.matrix == { enable = false; } && !(j ? mail) && j.services.sso.clients == [ ] && !(j ? cash_rounding);
    "cooperage.json carries the defaults: sv, SEK, member-only, 5-digit numbers" =
      c:
      let
        j = rendered c;
      in
      j.locale.default == "sv" && j.currency == "SEK" && j.member_only_shop && j.member_number.digits == 5;
    "only coop_sso is dumped" = c: c.services.postgresqlBackup.databases == [ "coop_sso" ];
  };

  # secrets from a secret manager (agenix, sops-nix): nothing generated
  provided-secrets = check {
    services.cooperage = {
      matrix.enable = true;
      sso.clients.synapse.secretFile = "/run/agenix/synapse-oidc-client-secret";
      sso.signingKeyFile = "/run/agenix/sso-signing-key";
      sso.secretsKeyFile = "/run/agenix/sso-secrets-key";
    };
  } {
    "a provided client secret is loaded as is and nothing is generated" =
      c:
      !(c.systemd.services ? cooperage-secrets)
      && lib.elem "synapse-oidc-client-secret:/run/agenix/synapse-oidc-client-secret" (sc c "coop-sso").LoadCredential
      && lib.elem "sso-secrets-key:/run/agenix/sso-secrets-key" (sc c "coop-sso").LoadCredential
      && (sc c "matrix-synapse").LoadCredential == [
        "synapse-oidc-client-secret:/run/agenix/synapse-oidc-client-secret"
      ]
      && !(lib.elem "cooperage-secrets.service" c.systemd.services.coop-sso.after)
      && !(lib.elem "cooperage-secrets.service" c.systemd.services.matrix-synapse.wants);
    "a provided signing key is a credential named in cooperage.json" =
      c:
      (rendered c).services.sso.signing_key_file == "sso-signing-key"
      && lib.elem "sso-signing-key:/run/agenix/sso-signing-key" (sc c "coop-sso").LoadCredential;
  };

  # an external OIDC client (a forum), a Unix socket, free-form settings
  extended = check {
    services.cooperage = {
      sso.listen = "unix:/run/coop-sso/http.sock";
      sso.clients.forum = {
        name = "Forum";
        redirectUris = [ "https://forum.coop.example.org/auth/oidc/callback" ];
      };
      sso.settings.bookkeeper_appointment = "admins";
      cashRounding = "0.5";
      memberNumber.prefix = "M";
      settings.services.sso.log_filter = "info,coop_sso=debug";
      openFirewall = false;
      backup.startAt = "*-*-* 03:30:00";
    };
  } {
    "nginx reaches coop-sso on its Unix socket" =
      c: c.services.nginx.virtualHosts."coop.example.org".locations."/".proxyPass == "http://unix:/run/coop-sso/http.sock:";
    "the forum is a client of coop-sso with a generated secret" =
      c:
      (rendered c).services.sso.clients == [
        {
          client_id = "forum";
          name = "Forum";
          redirect_uris = [ "https://forum.coop.example.org/auth/oidc/callback" ];
          post_logout_redirect_uris = [ ];
          secret_file = "forum-oidc-client-secret";
          scopes = [
            "openid"
            "profile"
            "email"
          ];
          audiences = [ ];
        }
      ]
      && lib.hasInfix "forum-oidc-client-secret" c.systemd.services.cooperage-secrets.script
      && lib.elem "forum-oidc-client-secret:/var/lib/cooperage-secrets/forum-oidc-client-secret" (sc c "coop-sso").LoadCredential;
    "free-form settings land in cooperage.json beside the options' keys" =
      c:
      let
        j = rendered c;
      in
      j.services.sso == {
        listen = "unix:/run/coop-sso/http.sock";
        bookkeeper_appointment = "admins";
        log_filter = "info,coop_sso=debug";
        clients = j.services.sso.clients;
        secrets_key_file = "sso-secrets-key";
      }
      && j.cash_rounding == "0.5"
      && j.member_number.prefix == "M";
    "openFirewall = false leaves the firewall closed" = c: !(lib.elem 443 c.networking.firewall.allowedTCPPorts);
    "the dump time follows backup.startAt" =
      c: c.systemd.timers."postgresqlBackup-coop_sso".timerConfig.OnCalendar == [ "*-*-* 03:30:00" ];
  };

  # PostgreSQL on another port: every client of ours follows it
  postgres-port = check {
    services.postgresql.settings.port = 5433;
    services.cooperage.matrix.enable = true;
  } {
    "the services and the database setup reach PostgreSQL on its port (PGPORT)" =
      c:
      c.systemd.services.coop-sso.environment.PGPORT == "5433"
      && c.systemd.services.cooperage-synapse-database.environment.PGPORT == "5433"
      && lib.hasInfix "--setenv=PGPORT=5433"
        (lib.findFirst (p: p.name == "cooperage-manage") null c.environment.systemPackages).text;
  };

  # Synapse's client listener on IPv6, or on a unix socket: nginx still reaches it
  synapse-ipv6 = check {
    services.cooperage.matrix.enable = true;
    services.matrix-synapse.settings.listeners = lib.mkForce [
      {
        port = 8448;
        bind_addresses = [ "::1" ];
        type = "http";
        tls = false;
        x_forwarded = true;
        resources = [ { names = [ "client" "federation" ]; compress = false; } ];
      }
    ];
  } {
    "an IPv6 bind address is bracketed in nginx's upstream" =
      c: c.services.nginx.virtualHosts."matrix.coop.example.org".locations."/_matrix".proxyPass == "http://[::1]:8448";
  };
  synapse-unix = check {
    services.cooperage.matrix.enable = true;
    services.matrix-synapse.settings.listeners = lib.mkForce [
      {
        path = "/run/matrix-synapse/client.sock";
        type = "http";
        x_forwarded = true;
        resources = [ { names = [ "client" "federation" ]; compress = false; } ];
      }
    ];
  } {
    "a unix-socket listener is nginx's upstream" =
      c:
      c.services.nginx.virtualHosts."matrix.coop.example.org".locations."/_synapse/client".proxyPass
      == "http://unix:/run/matrix-synapse/client.sock:";
  };

  # coop-finance beside coop-sso, with four eyes above 2,000 and household wallets
  finance = check {
    services.cooperage.finance = {
      enable = true;
      secondBookkeeperAbove = "2000";
      walletPer = "household";
      settings.log_filter = "info,coop_finance=debug";
    };
  } {
    "coop-finance runs as its own user with its state and its client secret" =
      c:
      let
        s = sc c "coop-finance";
      in
      s.User == "coop_finance"
      && s.StateDirectory == "coop-finance"
      && lib.elem "coop-finance-oidc-client-secret:/var/lib/cooperage-secrets/coop-finance-oidc-client-secret" s.LoadCredential
      && lib.hasInfix "/bin/coop-finance" s.ExecStart;
    "coop-sso gets the same secret, generated at first boot" =
      c:
      lib.elem "coop-finance-oidc-client-secret:/var/lib/cooperage-secrets/coop-finance-oidc-client-secret" (sc c "coop-sso").LoadCredential
      && lib.hasInfix "coop-finance-oidc-client-secret" c.systemd.services.cooperage-secrets.script
      && lib.elem "cooperage-secrets.service" c.systemd.services.coop-finance.after;
    "cooperage.json has the finance section with its settings" =
      c:
      (rendered c).services.finance == {
        listen = "127.0.0.1:8104";
        client_secret_file = "coop-finance-oidc-client-secret";
        second_bookkeeper_above = "2000";
        wallet_per = "household";
        allow_capture_above_hold = false;
        log_filter = "info,coop_finance=debug";
      };
    "nginx passes /finance/ to it and its database is dumped" =
      c:
      c.services.nginx.virtualHosts."coop.example.org".locations ? "/finance/"
      && lib.elem "coop_finance" c.services.postgresqlBackup.databases;
  };

  # the buyers club beside coop-finance (whose wallets it holds and charges)
  buyers-club = check {
    services.cooperage.finance.enable = true;
    services.cooperage.buyersClub = {
      enable = true;
      settings.log_filter = "info,coop_buyers_club=debug";
    };
  } {
    "coop-buyers-club runs as its own user, sandboxed, with its state and its client secret" =
      c:
      let
        s = sc c "coop-buyers-club";
      in
      s.User == "coop_buyers_club"
      && s.DynamicUser
      && s.ProtectSystem == "strict"
      && s.StateDirectory == "coop-buyers-club"
      && lib.elem "coop-buyers-club-oidc-client-secret:/var/lib/cooperage-secrets/coop-buyers-club-oidc-client-secret" s.LoadCredential
      && lib.hasInfix "/bin/coop-buyers-club" s.ExecStart;
    "coop-sso gets the same secret, generated at first boot" =
      c:
      lib.elem "coop-buyers-club-oidc-client-secret:/var/lib/cooperage-secrets/coop-buyers-club-oidc-client-secret" (sc c "coop-sso").LoadCredential
      && lib.hasInfix "coop-buyers-club-oidc-client-secret" c.systemd.services.cooperage-secrets.script;
    "cooperage.json has the buyers_club section" =
      c:
      (rendered c).services.buyers_club == {
        listen = "127.0.0.1:8105";
        client_secret_file = "coop-buyers-club-oidc-client-secret";
        log_filter = "info,coop_buyers_club=debug";
        remind_hours = 24;
      };
    "without Matrix there is no bot" =
      c:
      !(c.systemd.services ? cooperage-matrix-bot)
      && !(lib.hasInfix "synapse-registration" c.systemd.services.cooperage-secrets.script);
    "nginx passes /buyers-club/ to it, its database and role exist and are dumped" =
      c:
      c.services.nginx.virtualHosts."coop.example.org".locations ? "/buyers-club/"
      && lib.elem "coop_buyers_club" c.services.postgresql.ensureDatabases
      && lib.elem "coop_buyers_club" c.services.postgresqlBackup.databases;
  };

  # the buyers club with the co-op's Matrix homeserver: its bot, registered by a unit of its own
  buyers-club-matrix = check {
    services.cooperage = {
      matrix.enable = true;
      finance.enable = true;
      buyersClub = {
        enable = true;
        matrix.room = "bestallningar";
        mapTiles = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
        remindHours = 12;
      };
    };
  } {
    "cooperage.json names the room, the bot's token in the buyers club's state, Synapse's local listener" =
      c:
      let
        b = (rendered c).services.buyers_club;
      in
      b.matrix_room == "#bestallningar:coop.example.org"
      && b.matrix_token_file == "/var/lib/coop-buyers-club/matrix-bot-token"
      && b.matrix_bot == "cooperage"
      && b.matrix_url == "http://127.0.0.1:8008"
      && b.map_tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
      && b.remind_hours == 12;
    "Synapse gets a generated registration secret" =
      c:
      c.services.matrix-synapse.settings.registration_shared_secret_path
        == "/run/credentials/matrix-synapse.service/synapse-registration-shared-secret"
      && lib.elem "synapse-registration-shared-secret:/var/lib/cooperage-secrets/synapse-registration-shared-secret" (sc c "matrix-synapse").LoadCredential
      && lib.hasInfix "synapse-registration-shared-secret" c.systemd.services.cooperage-secrets.script;
    "the bot's unit runs matrix-setup as the buyers club's user, after Synapse, before the buyers club" =
      c:
      let
        u = c.systemd.services.cooperage-matrix-bot;
        s = u.serviceConfig;
      in
      s.Type == "oneshot"
      && s.DynamicUser
      && s.User == "coop_buyers_club"
      && s.StateDirectory == "coop-buyers-club"
      && s.Restart == "on-failure"
      && s.ProtectSystem == "strict"
      && s.LoadCredential == [ "synapse-registration-shared-secret:/var/lib/cooperage-secrets/synapse-registration-shared-secret" ]
      && lib.hasInfix "matrix-setup" s.ExecStart
      && lib.hasInfix "--token-file /var/lib/coop-buyers-club/matrix-bot-token" s.ExecStart
      && lib.hasInfix "%d/synapse-registration-shared-secret" s.ExecStart
      && lib.elem "matrix-synapse.service" u.after
      && lib.elem "coop-buyers-club.service" u.before
      && lib.elem "coop-buyers-club.service" u.wantedBy
      && u.startLimitIntervalSec == 0;
    "the buyers club never gets the registration secret, and does not need the bot to start" =
      c:
      !(lib.any (lib.hasInfix "synapse-registration") (sc c "coop-buyers-club").LoadCredential)
      && !(lib.elem "cooperage-matrix-bot.service" c.systemd.services.coop-buyers-club.requires);
  };

  # coop-ims beside coop-sso, with a second shop and members seeing shelves
  ims = check {
    services.cooperage.ims = {
      enable = true;
      showLocations = true;
      locations = [
        {
          code = "shop";
          name = "Butiken";
        }
        {
          code = "shop-2";
          name = "Butiken i byn";
        }
        {
          code = "lager";
          name = "Lagret";
          kind = "storeroom";
        }
      ];
      settings.log_filter = "info,coop_ims=debug";
    };
  } {
    "coop-ims runs as its own user with its state and its client secret" =
      c:
      let
        s = sc c "coop-ims";
      in
      s.User == "coop_ims"
      && s.StateDirectory == "coop-ims"
      && lib.elem "coop-ims-oidc-client-secret:/var/lib/cooperage-secrets/coop-ims-oidc-client-secret" s.LoadCredential
      && lib.hasInfix "/bin/coop-ims" s.ExecStart;
    "coop-sso gets the same secret, generated at first boot" =
      c:
      lib.elem "coop-ims-oidc-client-secret:/var/lib/cooperage-secrets/coop-ims-oidc-client-secret" (sc c "coop-sso").LoadCredential
      && lib.hasInfix "coop-ims-oidc-client-secret" c.systemd.services.cooperage-secrets.script
      && lib.elem "cooperage-secrets.service" c.systemd.services.coop-ims.after;
    "cooperage.json has the ims section with its locations" =
      c:
      (rendered c).services.ims == {
        listen = "127.0.0.1:8103";
        client_secret_file = "coop-ims-oidc-client-secret";
        show_locations = true;
        locations = [
          {
            code = "shop";
            name = "Butiken";
            kind = "shop";
          }
          {
            code = "shop-2";
            name = "Butiken i byn";
            kind = "shop";
          }
          {
            code = "lager";
            name = "Lagret";
            kind = "storeroom";
          }
        ];
        log_filter = "info,coop_ims=debug";
      };
    "nginx passes /ims/ to it and its database is dumped" =
      c:
      c.services.nginx.virtualHosts."coop.example.org".locations ? "/ims/"
      && lib.elem "coop_ims" c.services.postgresqlBackup.databases;
  };

  # coop-pos central beside coop-ims and coop-finance, with euros and a fruit voucher
  pos = check {
    services.cooperage.ims.enable = true;
    services.cooperage.finance.enable = true;
    services.cooperage.pos = {
      enable = true;
      offlineWalletLimit = "150";
      tenders = [
        {
          id = "cash";
          kind = "cash";
        }
        {
          id = "wallet";
          kind = "wallet";
        }
        {
          id = "eur";
          kind = "foreign_cash";
          currency = "EUR";
          rate = "11.20";
        }
        {
          id = "frukt";
          kind = "restricted";
          eligible = "fresh";
        }
      ];
    };
  } {
    "coop-pos runs as its own user with its state and its client secret" =
      c:
      let
        s = sc c "coop-pos";
      in
      s.User == "coop_pos"
      && s.StateDirectory == "coop-pos"
      && lib.elem "coop-pos-oidc-client-secret:/var/lib/cooperage-secrets/coop-pos-oidc-client-secret" s.LoadCredential
      && lib.hasInfix "/bin/coop-pos" s.ExecStart;
    "coop-sso gets the same secret" =
      c:
      lib.elem "coop-pos-oidc-client-secret:/var/lib/cooperage-secrets/coop-pos-oidc-client-secret" (sc c "coop-sso").LoadCredential;
    "cooperage.json has the pos section with its tenders" =
      c:
      (rendered c).services.pos == {
        listen = "127.0.0.1:8102";
        client_secret_file = "coop-pos-oidc-client-secret";
        prices_include_vat = true;
        offline_wallet_limit = "150";
        return_pin_above = "300";
        tenders = [
          {
            id = "cash";
            kind = "cash";
          }
          {
            id = "wallet";
            kind = "wallet";
          }
          {
            id = "eur";
            kind = "foreign_cash";
            currency = "EUR";
            rate = "11.20";
          }
          {
            id = "frukt";
            kind = "restricted";
            eligible = "fresh";
          }
        ];
      };
    "nginx passes /pos/ to it and its database is dumped" =
      c:
      c.services.nginx.virtualHosts."coop.example.org".locations ? "/pos/"
      && lib.elem "coop_pos" c.services.postgresqlBackup.databases;
  };

  # backups are the operator's to turn off
  no-backup = check { services.cooperage.backup.enable = false; } {
    "without backup.enable no dump runs" =
      c: !c.services.postgresqlBackup.enable && !(c.systemd.timers ? "postgresqlBackup-coop_sso");
  };

  # the bare module, with pkgs.cooperage from the flake's overlay
  overlay = eval {
    modules = [
      flake.self.nixosModules.cooperage
      ./nixos-extra.nix
    ];
    config = {
      imports = [ base ];
      nixpkgs.overlays = [ flake.self.overlays.default ];
    };
    tests = {
      "nixosModules.cooperage with overlays.default runs the overlay's package" =
        c:
        c.services.cooperage.package.name == "cooperage-0.1.0"
        && lib.hasInfix "-cooperage-0.1.0/bin/coop-sso" (sc c "coop-sso").ExecStart;
    };
  };
}
