# coop-buyers-club: pooled orders from suppliers. Members keep the suppliers
# and products, start orders, add purchases that are held on their wallets at
# coop-finance, and the completed order is charged and booked there. It lives
# at https://<domain>/buyers-club/ and signs members in through coop-sso as an
# OpenID Connect client, whose secret is generated at first boot (or
# provided) and reaches both services through LoadCredential.
#
# With the co-op's Matrix homeserver (services.cooperage.matrix), the buyers
# club tells the co-op's room about orders and writes members direct messages
# as a bot: `cooperage-matrix-bot.service` registers it once through Synapse's
# registration shared secret (generated at first boot, given to Synapse and to
# that unit only, never to the buyers club), makes the room, and leaves the
# bot's access token in coop-buyers-club's state directory. A homeserver that
# is down delays messages; the buyers club starts and takes orders regardless.
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
  club = cfg.buyersClub;
  secretsDir = "/var/lib/cooperage-secrets";
  credential = "coop-buyers-club-oidc-client-secret";

  registration = "synapse-registration-shared-secret";
  botToken = "/var/lib/coop-buyers-club/matrix-bot-token";
  configPath = "/etc/cooperage/cooperage.json";
  withMatrix = club.matrix.enable && cfg.matrix.enable;
  # Where the bot reaches Synapse: its client listener on this machine when it has a port
  # (no certificate needed at first boot), else the public URL through nginx.
  listener = lib.findFirst (
    l: lib.any (r: lib.elem "client" r.names) l.resources
  ) null (config.services.matrix-synapse.settings.listeners or [ ]);
  synapseUrl =
    if listener != null && (listener.port or null) != null && (listener.path or null) == null then
      let
        bind = lib.head ((if (listener.bind_addresses or null) == null then [ ] else listener.bind_addresses) ++ [ "127.0.0.1" ]);
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
      "http://${host}:${toString listener.port}"
    else
      "https://${cfg.matrix.hostName}";

  secretPathType = types.pathWith {
    absolute = true;
    inStore = false;
  };
in
{
  options.services.cooperage.buyersClub = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to run coop-buyers-club: pooled orders from suppliers, from
        open to settled. Members add suppliers and products, start orders,
        and add purchases, each held on their wallet at coop-finance (so
        coop-finance must run too); the order manager closes the order,
        checks the delivery and completes it, and each member is charged
        their part.
      '';
    };

    package = mkOption {
      type = types.package;
      default = cfg.package;
      defaultText = literalExpression "config.services.cooperage.package";
      description = "Package providing `bin/coop-buyers-club`.";
    };

    listen = mkOption {
      type = types.str;
      default = "127.0.0.1:8105";
      example = "unix:/run/coop-buyers-club/http.sock";
      description = "Where coop-buyers-club listens (nginx forwards to it): `host:port` or `unix:/path`.";
    };

    clientSecretFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      example = "/run/secrets/cooperage/buyers-club-oidc-client-secret";
      description = ''
        File holding coop-buyers-club's OpenID Connect client secret at
        coop-sso, outside the Nix store. `null` generates one at first boot
        into `${secretsDir}/${credential}`.
      '';
    };

    matrix = {
      enable = mkOption {
        type = types.bool;
        default = true;
        example = false;
        description = ''
          Whether the buyers club posts order news to the co-op's Matrix room
          and writes members direct messages, as a bot it registers on the
          co-op's homeserver. Only with `services.cooperage.matrix.enable`.
          Members choose what they hear, by email or Matrix, on the buyers
          club's Notifications page.
        '';
      };

      room = mkOption {
        type = types.strMatching "[a-z0-9._=-]+";
        default = "orders";
        description = ''
          The local part of the co-op's room for order news:
          `#<room>:<domain>`. Made (public on the co-op's homeserver, so
          members join it from their Matrix client) if it does not exist.
        '';
      };

      botName = mkOption {
        type = types.strMatching "[a-z0-9._=-]+";
        default = "cooperage";
        description = "The bot's Matrix user name: `@<botName>:<domain>`.";
      };
    };

    mapTiles = mkOption {
      type = types.nullOr (types.strMatching "https?://[^ ]+");
      default = null;
      example = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
      description = ''
        A tile server (a URL template with `{z}`, `{x}` and `{y}`) for the
        map on the buyers club's places page. `null`: the suppliers and
        members are listed without a map. Members' browsers fetch the tiles
        from it, so choose one whose usage policy fits (OpenStreetMap's own
        servers ask for light use and an attribution).
      '';
    };

    remindHours = mkOption {
      type = types.ints.between 0 336;
      default = 24;
      description = ''
        How many hours before an order's end its members are reminded (as
        they chose; the room always). 0: no reminder.
      '';
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = {
        log_filter = "info,coop_buyers_club=debug";
      };
      description = ''
        Further keys of the `services.buyers_club` section of cooperage.json
        (see docs/config.md), such as `log_filter` or `feed_clients`.
      '';
    };
  };

  config = mkIf (cfg.enable && club.enable) {
    assertions = [
      {
        assertion = cfg.sso.enable;
        message = "services.cooperage.buyersClub.enable is true but services.cooperage.sso.enable is false: members sign in to the buyers club through coop-sso.";
      }
      {
        assertion = cfg.finance.enable;
        message = "services.cooperage.buyersClub.enable is true but services.cooperage.finance.enable is false: the buyers club holds and charges the members' wallets at coop-finance, and coop-finance books its orders. Enable services.cooperage.finance too.";
      }
    ];

    services.cooperage.internal.services.buyers-club = {
      enable = true;
      description = "Cooperage buyers club (coop-buyers-club)";
      package = club.package;
      inherit (club) listen;
      credentials.${credential} =
        if club.clientSecretFile != null then toString club.clientSecretFile else "${secretsDir}/${credential}";
    };

    # coop-sso checks the same secret when the buyers club signs members in.
    services.cooperage.internal.services.sso.credentials.${credential} =
      if club.clientSecretFile != null then toString club.clientSecretFile else "${secretsDir}/${credential}";

    services.cooperage.internal.generatedSecrets =
      lib.optional (club.clientSecretFile == null) credential ++ lib.optional withMatrix registration;

    services.cooperage.settings.services.buyers_club = mkMerge [
      club.settings
      {
        client_secret_file = credential;
        remind_hours = club.remindHours;
      }
      (mkIf (club.mapTiles != null) { map_tiles = club.mapTiles; })
      (mkIf withMatrix {
        matrix_room = "#${club.matrix.room}:${cfg.domain}";
        matrix_token_file = botToken;
        matrix_bot = club.matrix.botName;
        matrix_url = synapseUrl;
      })
    ];

    # The bot: Synapse gets a registration shared secret; one unit, as the buyers club's
    # user (so the token lands in its state directory), registers the bot and makes the room.
    services.matrix-synapse.settings.registration_shared_secret_path = mkIf withMatrix "/run/credentials/matrix-synapse.service/${registration}";
    systemd.services.matrix-synapse.serviceConfig.LoadCredential = lib.optional withMatrix "${registration}:${secretsDir}/${registration}";

    systemd.services.cooperage-matrix-bot = mkIf withMatrix {
      description = "Register the buyers club's Matrix bot and make the co-op's room";
      after = [
        "matrix-synapse.service"
        "cooperage-secrets.service"
      ];
      wants = [ "matrix-synapse.service" ];
      requires = [ "cooperage-secrets.service" ];
      before = [ "coop-buyers-club.service" ];
      wantedBy = [ "coop-buyers-club.service" ];
      # Synapse may still be starting: try again until it answers.
      startLimitIntervalSec = 0;
      environment.COOPERAGE_CONFIG = configPath;
      serviceConfig = (import ./hardening.nix) // {
        Type = "oneshot";
        RemainAfterExit = true;
        Restart = "on-failure";
        RestartSec = "30s";
        DynamicUser = true;
        User = config.systemd.services.coop-buyers-club.serviceConfig.User;
        Group = config.systemd.services.coop-buyers-club.serviceConfig.Group;
        StateDirectory = "coop-buyers-club";
        StateDirectoryMode = "0700";
        LoadCredential = [ "${registration}:${secretsDir}/${registration}" ];
        ExecStart = lib.escapeShellArgs [
          (lib.getExe' club.package "coop-buyers-club")
          "matrix-setup"
          "--config"
          configPath
          "--shared-secret-file"
          "%d/${registration}"
          "--token-file"
          botToken
        ];
      };
    };
  };
}
