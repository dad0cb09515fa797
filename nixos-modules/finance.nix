# coop-finance: the ledger, member wallets, top-ups and bank import, and the
# SIE export. It lives at https://<domain>/finance/ and signs members in
# through coop-sso as an OpenID Connect client, whose secret is generated at
# first boot (or provided) and reaches both services through LoadCredential.
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
  fin = cfg.finance;
  secretsDir = "/var/lib/cooperage-secrets";
  credential = "coop-finance-oidc-client-secret";

  secretPathType = types.pathWith {
    absolute = true;
    inStore = false;
  };
in
{
  options.services.cooperage.finance = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to run coop-finance: the co-op's ledger (BAS accounts,
        fiscal years, SIE export), member wallets that the till and the
        buyers club spend from, top-ups that bookkeepers confirm, and the
        bank-statement import.
      '';
    };

    package = mkOption {
      type = types.package;
      default = cfg.package;
      defaultText = literalExpression "config.services.cooperage.package";
      description = "Package providing `bin/coop-finance`.";
    };

    listen = mkOption {
      type = types.str;
      default = "127.0.0.1:8104";
      example = "unix:/run/coop-finance/http.sock";
      description = "Where coop-finance listens (nginx forwards to it): `host:port` or `unix:/path`.";
    };

    clientSecretFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      example = "/run/secrets/cooperage/finance-oidc-client-secret";
      description = ''
        File holding coop-finance's OpenID Connect client secret at
        coop-sso, outside the Nix store. `null` generates one at first boot
        into `${secretsDir}/${credential}`.
      '';
    };

    secondBookkeeperAbove = mkOption {
      type = types.nullOr (types.strMatching "[0-9]+(\\.[0-9]{1,2})?");
      default = null;
      example = "2000";
      description = ''
        Top-ups above this amount (in the co-op's currency, as a string)
        need a second bookkeeper, someone other than the first, before
        the money can be spent. `null`: one bookkeeper is enough.
      '';
    };

    walletPer = mkOption {
      type = types.enum [
        "member"
        "household"
      ];
      default = "member";
      description = ''
        Whether each member has their own wallet, or the members coop-sso
        groups in a household share one.
      '';
    };

    allowCaptureAboveHold = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether the till or the buyers club may capture more than they held
        when they ask to (a weighed item came out heavier), as far as the
        wallet's available balance goes.
      '';
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = {
        log_filter = "info,coop_finance=debug";
      };
      description = ''
        Further keys of the `services.finance` section of cooperage.json
        (see docs/config.md), such as `log_filter` or `wallet_clients`.
      '';
    };
  };

  config = mkIf (cfg.enable && fin.enable) {
    assertions = [
      {
        assertion = cfg.sso.enable;
        message = "services.cooperage.finance.enable is true but services.cooperage.sso.enable is false: members sign in to coop-finance through coop-sso.";
      }
    ];

    services.cooperage.internal.services.finance = {
      enable = true;
      description = "Cooperage ledger, wallets and SIE export (coop-finance)";
      package = fin.package;
      inherit (fin) listen;
      credentials.${credential} =
        if fin.clientSecretFile != null then toString fin.clientSecretFile else "${secretsDir}/${credential}";
    };

    # coop-sso checks the same secret when coop-finance signs members in.
    services.cooperage.internal.services.sso.credentials.${credential} =
      if fin.clientSecretFile != null then toString fin.clientSecretFile else "${secretsDir}/${credential}";

    services.cooperage.internal.generatedSecrets = lib.optional (fin.clientSecretFile == null) credential;

    services.cooperage.settings.services.finance = mkMerge [
      fin.settings
      {
        client_secret_file = credential;
        wallet_per = fin.walletPer;
        allow_capture_above_hold = fin.allowCaptureAboveHold;
      }
      (mkIf (fin.secondBookkeeperAbove != null) {
        second_bookkeeper_above = fin.secondBookkeeperAbove;
      })
    ];
  };
}
