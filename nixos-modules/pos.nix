# coop-pos central: the tills' server. Paired tills upload their hash-chained
# sales journals to it; it stores each sale once, flags a gap or a changed
# record, and publishes the sales for coop-ims (stock) and coop-finance
# (books). It lives at https://<domain>/pos/ and signs managers in through
# coop-sso as an OpenID Connect client, whose secret is generated at first
# boot (or provided) and reaches both services through LoadCredential. The
# tills themselves are configured by till.nix.
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
  pos = cfg.pos;
  secretsDir = "/var/lib/cooperage-secrets";
  credential = "coop-pos-oidc-client-secret";

  secretPathType = types.pathWith {
    absolute = true;
    inStore = false;
  };

  decimal = types.strMatching "[0-9]+(\\.[0-9]+)?";

  tenderType = types.submodule {
    options = {
      id = mkOption {
        type = types.strMatching "[a-z0-9][a-z0-9-]{0,19}";
        example = "eur";
        description = "The tender's id, as its button and the sales name it.";
      };
      kind = mkOption {
        type = types.enum [
          "cash"
          "foreign_cash"
          "card"
          "wallet"
          "restricted"
        ];
        description = ''
          How it pays: `cash` in the home currency, `foreign_cash` at a set
          rate (change in the home currency), `card` through the payment
          terminal, `wallet` from the member's wallet at coop-finance,
          `restricted` (a voucher or benefit) only for eligible items.
        '';
      };
      currency = mkOption {
        type = types.nullOr (types.strMatching "[A-Z]{3}");
        default = null;
        example = "EUR";
        description = "For `foreign_cash`: the currency taken.";
      };
      rate = mkOption {
        type = types.nullOr decimal;
        default = null;
        example = "11.20";
        description = "For `foreign_cash`: home units per unit of it.";
      };
      eligible = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "fresh";
        description = "For `restricted`: the product flag of the items it pays for.";
      };
    };
  };

  renderTender =
    t:
    {
      inherit (t) id kind;
    }
    // lib.optionalAttrs (t.kind == "foreign_cash") { inherit (t) currency rate; }
    // lib.optionalAttrs (t.kind == "restricted") { inherit (t) eligible; };
in
{
  options.services.cooperage.pos = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Whether to run coop-pos central: the server the co-op's tills upload
        their sales to, which verifies each till's sales journal and passes
        the sales on to inventory and the books, and where managers see every
        till's sync state.
      '';
    };

    package = mkOption {
      type = types.package;
      default = cfg.package;
      defaultText = literalExpression "config.services.cooperage.package";
      description = "Package providing `bin/coop-pos`.";
    };

    listen = mkOption {
      type = types.str;
      default = "127.0.0.1:8102";
      example = "unix:/run/coop-pos/http.sock";
      description = "Where coop-pos listens (nginx forwards to it): `host:port` or `unix:/path`.";
    };

    clientSecretFile = mkOption {
      type = types.nullOr secretPathType;
      default = null;
      example = "/run/secrets/cooperage/pos-oidc-client-secret";
      description = ''
        File holding coop-pos's OpenID Connect client secret at coop-sso,
        outside the Nix store. `null` generates one at first boot into
        `${secretsDir}/${credential}`.
      '';
    };

    pricesIncludeVat = mkOption {
      type = types.bool;
      default = true;
      description = ''
        Whether shelf prices include VAT (a shop). If not, the tills add VAT
        per rate on top (a wholesale-style buyers club).
      '';
    };

    offlineWalletLimit = mkOption {
      type = decimal;
      default = "200";
      description = ''
        How much a member may pay from their wallet at a till that cannot
        reach coop-finance, until the till reconciles. `"0"` refuses wallet
        payments offline.
      '';
    };

    returnPinAbove = mkOption {
      type = decimal;
      default = "300";
      example = "0";
      description = ''
        A return at a till that pays back more than this needs a manager's
        PIN (the record names the manager). `"0"` asks for one on every
        return.
      '';
    };

    tenders = mkOption {
      type = types.listOf tenderType;
      default = [
        {
          id = "cash";
          kind = "cash";
        }
        {
          id = "card";
          kind = "card";
        }
        {
          id = "wallet";
          kind = "wallet";
        }
      ];
      example = literalExpression ''
        [
          { id = "cash"; kind = "cash"; }
          { id = "card"; kind = "card"; }
          { id = "eur"; kind = "foreign_cash"; currency = "EUR"; rate = "11.20"; }
          { id = "frukt"; kind = "restricted"; eligible = "fresh"; }
        ]
      '';
      description = "The tenders the tills take, in the order their fields show.";
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = {
        log_filter = "info,coop_pos=debug";
      };
      description = ''
        Further keys of the `services.pos` section of cooperage.json (see
        docs/config.md), such as `variable_measure` (the in-store barcode
        layouts, the same as coop-ims's), `location` or `feed_clients`.
      '';
    };
  };

  config = mkIf (cfg.enable && pos.enable) {
    assertions = [
      {
        assertion = cfg.sso.enable;
        message = "services.cooperage.pos.enable is true but services.cooperage.sso.enable is false: tills pair and managers sign in through coop-sso.";
      }
      {
        assertion = cfg.ims.enable;
        message = "services.cooperage.pos.enable is true but services.cooperage.ims.enable is false: tills sell from coop-ims's catalogue.";
      }
      {
        assertion = lib.any (t: t.kind == "cash") pos.tenders;
        message = "services.cooperage.pos.tenders needs a tender of kind \"cash\": change is given in cash in the home currency.";
      }
      {
        assertion = lib.all (t: t.kind != "wallet") pos.tenders || cfg.finance.enable;
        message = "services.cooperage.pos.tenders has a \"wallet\" tender but services.cooperage.finance.enable is false: members' wallets are kept by coop-finance.";
      }
      {
        assertion = lib.all (t: t.kind != "foreign_cash" || (t.currency != null && t.rate != null)) pos.tenders;
        message = "services.cooperage.pos.tenders: a \"foreign_cash\" tender needs its currency and rate.";
      }
      {
        assertion = lib.all (t: t.kind != "restricted" || t.eligible != null) pos.tenders;
        message = "services.cooperage.pos.tenders: a \"restricted\" tender needs `eligible`, the product flag it pays for.";
      }
      {
        assertion =
          let
            ids = map (t: t.id) pos.tenders;
          in
          lib.length ids == lib.length (lib.unique ids);
        message = "services.cooperage.pos.tenders: each id may be listed once.";
      }
    ];

    services.cooperage.internal.services.pos = {
      enable = true;
      description = "Cooperage tills' server (coop-pos)";
      package = pos.package;
      inherit (pos) listen;
      credentials.${credential} =
        if pos.clientSecretFile != null then toString pos.clientSecretFile else "${secretsDir}/${credential}";
    };

    # coop-sso checks the same secret when coop-pos signs managers in.
    services.cooperage.internal.services.sso.credentials.${credential} =
      if pos.clientSecretFile != null then toString pos.clientSecretFile else "${secretsDir}/${credential}";

    services.cooperage.internal.generatedSecrets = lib.optional (pos.clientSecretFile == null) credential;

    services.cooperage.settings.services.pos = mkMerge [
      pos.settings
      {
        client_secret_file = credential;
        prices_include_vat = pos.pricesIncludeVat;
        offline_wallet_limit = pos.offlineWalletLimit;
        return_pin_above = pos.returnPinAbove;
        tenders = map renderTender pos.tenders;
      }
    ];
  };
}
