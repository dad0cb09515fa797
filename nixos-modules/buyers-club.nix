# coop-buyers-club: pooled orders from suppliers. Members keep the suppliers
# and products, start orders, add purchases that are held on their wallets at
# coop-finance, and the completed order is charged and booked there. It lives
# at https://<domain>/buyers-club/ and signs members in through coop-sso as an
# OpenID Connect client, whose secret is generated at first boot (or
# provided) and reaches both services through LoadCredential.
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

    services.cooperage.internal.generatedSecrets = lib.optional (club.clientSecretFile == null) credential;

    services.cooperage.settings.services.buyers_club = mkMerge [
      club.settings
      { client_secret_file = credential; }
    ];
  };
}
