# coop-ims: the catalogue every till sells from, and the stock per location.
# It lives at https://<domain>/ims/ and signs members in through coop-sso as
# an OpenID Connect client, whose secret is generated at first boot (or
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
  ims = cfg.ims;
  secretsDir = "/var/lib/cooperage-secrets";
  credential = "coop-ims-oidc-client-secret";

  secretPathType = types.pathWith {
    absolute = true;
    inStore = false;
  };

  locationType = types.submodule {
    options = {
      code = mkOption {
        type = types.strMatching "[a-z0-9][a-z0-9-]{0,31}";
        example = "storeroom";
        description = "The location's code, as sales and reports name it.";
      };
      name = mkOption {
        type = types.str;
        example = "Storeroom";
        description = "The location's name as staff read it.";
      };
      kind = mkOption {
        type = types.enum [
          "shop"
          "storeroom"
          "warehouse"
        ];
        default = "shop";
        description = "A shop sells; a storeroom or warehouse only holds stock.";
      };
    };
  };
in
{
  options.services.cooperage.ims = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to run coop-ims: the catalogue (products, barcodes, packs,
        prices) that every till sells from, stock per location as a ledger
        of movements, the members' product finder, and the stock value.
      '';
    };

    package = mkOption {
      type = types.package;
      default = cfg.package;
      defaultText = literalExpression "config.services.cooperage.package";
      description = "Package providing `bin/coop-ims`.";
    };

    listen = mkOption {
      type = types.str;
      default = "127.0.0.1:8103";
      example = "unix:/run/coop-ims/http.sock";
      description = "Where coop-ims listens (nginx forwards to it): `host:port` or `unix:/path`.";
    };

    clientSecretFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      example = "/run/secrets/cooperage/ims-oidc-client-secret";
      description = ''
        File holding coop-ims's OpenID Connect client secret at coop-sso,
        outside the Nix store. `null` generates one at first boot into
        `${secretsDir}/${credential}`.
      '';
    };

    showLocations = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether members' product finder shows the aisle and shelf where a
        product stands.
      '';
    };

    locations = mkOption {
      type = types.listOf locationType;
      default = [
        {
          code = "shop";
          name = "Shop";
          kind = "shop";
        }
        {
          code = "storeroom";
          name = "Storeroom";
          kind = "storeroom";
        }
      ];
      example = literalExpression ''
        [
          { code = "shop"; name = "Butiken"; kind = "shop"; }
          { code = "lager"; name = "Lagret"; kind = "storeroom"; }
        ]
      '';
      description = ''
        Where stock is kept. Tills sell from the first shop unless a sale
        names another. Locations are added or renamed, never removed (their
        movements name them).
      '';
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = {
        log_filter = "info,coop_ims=debug";
      };
      description = ''
        Further keys of the `services.ims` section of cooperage.json (see
        docs/config.md), such as `variable_measure` (the in-store barcode
        layouts the shop's scales print), `feed_clients` or `lookup_clients`.
      '';
    };
  };

  config = mkIf (cfg.enable && ims.enable) {
    assertions = [
      {
        assertion = cfg.sso.enable;
        message = "services.cooperage.ims.enable is true but services.cooperage.sso.enable is false: members sign in to coop-ims through coop-sso.";
      }
      {
        assertion = lib.any (l: l.kind == "shop") ims.locations;
        message = "services.cooperage.ims.locations needs at least one location of kind \"shop\": tills sell from a shop.";
      }
      {
        assertion =
          let
            codes = map (l: l.code) ims.locations;
          in
          lib.length codes == lib.length (lib.unique codes);
        message = "services.cooperage.ims.locations: each code may be listed once.";
      }
    ];

    services.cooperage.internal.services.ims = {
      enable = true;
      description = "Cooperage catalogue and stock (coop-ims)";
      package = ims.package;
      inherit (ims) listen;
      credentials.${credential} =
        if ims.clientSecretFile != null then toString ims.clientSecretFile else "${secretsDir}/${credential}";
    };

    # coop-sso checks the same secret when coop-ims signs members in.
    services.cooperage.internal.services.sso.credentials.${credential} =
      if ims.clientSecretFile != null then toString ims.clientSecretFile else "${secretsDir}/${credential}";

    services.cooperage.internal.generatedSecrets = lib.optional (ims.clientSecretFile == null) credential;

    services.cooperage.settings.services.ims = mkMerge [
      ims.settings
      {
        client_secret_file = credential;
        show_locations = ims.showLocations;
        inherit (ims) locations;
      }
    ];
  };
}
