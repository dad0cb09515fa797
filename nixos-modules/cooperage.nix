# Cooperage: the co-op server, configured once.
#
# This umbrella module declares `services.cooperage` (the co-op itself: domain,
# organisation, locale, currency, VAT, members, mail) and renders it, together
# with every service's section, into the one config file every binary reads:
# /etc/cooperage/cooperage.json (the keys are the contract in docs/config.md).
#
# Each service lives in a file of its own next to this one and registers itself
# in `services.cooperage.internal.services` (see ./services.nix), which turns
# the registration into a hardened systemd unit, a PostgreSQL database and
# role, an nginx location and a nightly dump. A new service is a new file and
# one line in `imports` below.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkEnableOption
    mkIf
    mkOption
    optionalAttrs
    types
    ;

  cfg = config.services.cooperage;
  json = pkgs.formats.json { };

  # ---- value types -----------------------------------------------------------
  decimal = types.strMatching "[0-9]+([.][0-9]+)?" // {
    description = "decimal number as a string (\"12\", \"0.05\")";
  };
  # a percentage or an amount may be written 12 or "12"; it is rendered "12"
  decimalOrInt = types.coercedTo types.ints.unsigned toString decimal;
  date = types.strMatching "[0-9]{4}-[0-9]{2}-[0-9]{2}" // {
    description = "date (YYYY-MM-DD)";
  };
  language = types.enum [
    "en"
    "sv"
  ];
  # a lower-case DNS name with at least one dot
  hostnameRegex = "([a-z0-9]([a-z0-9-]*[a-z0-9])?[.])+[a-z]([a-z0-9-]*[a-z0-9])?";
  domainIsValid = builtins.match hostnameRegex cfg.domain != null;

  vatRateModule = {
    options = {
      from = mkOption {
        type = date;
        example = "2026-04-01";
        description = "First day on which this rate applies.";
      };
      percent = mkOption {
        type = decimalOrInt;
        example = "6";
        description = "The rate in percent, e.g. `\"12\"` or `\"6.5\"`.";
      };
    };
  };

  vatClassModule = {
    options.rates = mkOption {
      type = types.listOf (types.submodule vatRateModule);
      description = ''
        The class's rates, each effective from its date until the next one's.
        A rate change that parliament has already decided is written here in
        advance, so it takes effect on its day without a deployment.
      '';
    };
  };

  # Sweden, as of 2026: food 12 %, cut to 6 % from 2026-04-01 until
  # 2027-12-31 (Prop. 2025/26:55), standard 25 %, books and culture 6 %.
  # The first date only needs to predate the co-op's first sale.
  swedishVat = {
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

  configFile = json.generate "cooperage.json" cfg.settings;
in
{
  imports = [
    ./services.nix
    ./web.nix
    ./backup.nix
    ./sso.nix
    ./matrix.nix
    ./ims.nix
    ./finance.nix
    ./pos.nix
    ./buyers-club.nix
  ];

  options.services.cooperage = {
    enable = mkEnableOption "Cooperage, the co-op's shop server (coop-sso, nginx, PostgreSQL and, optionally, Matrix)";

    package = lib.mkPackageOption pkgs "cooperage" {
      extraDescription = ''
        The Cooperage workspace package provides every service binary
        (`bin/coop-sso`, later `bin/coop-pos`, ...). The flake's
        `nixosModules.default` sets this to the package built from the flake;
        with `nixosModules.cooperage` alone, provide `pkgs.cooperage` (the
        flake's `overlays.default` does).
      '';
    };

    domain = mkOption {
      type = types.str;
      default = "";
      example = "coop.example.org";
      description = ''
        The co-op's public DNS name. coop-sso serves `https://<domain>/` and is
        the OpenID Connect issuer `https://<domain>`; the other services live
        below it (`https://<domain>/pos/`, ...). With Matrix, Synapse answers
        at `https://matrix.<domain>` and Matrix ids end in `:<domain>`.
        Point its DNS A/AAAA records (and `matrix.<domain>`'s) at this machine
        before the first deployment, so that ACME can issue certificates.
      '';
    };

    organisation = {
      name = mkOption {
        type = types.str;
        default = "";
        example = "Röstånga Matkooperativ";
        description = "The co-op's name, as members see it (pages, mails, sign-in).";
      };
      orgNumber = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "802000-0000";
        description = "Organisation number, written into the accounting (SIE) exports.";
      };
      logo = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = lib.literalExpression "./logo.svg";
        description = ''
          An image shown beside the name in every page's header: an `.svg`,
          `.png`, `.jpg` or `.webp` file of at most 512 KiB. It is copied into
          the Nix store and served by each service as `<service>/static/logo`.
        '';
      };
      accentColour = mkOption {
        type = types.strMatching "#[0-9a-fA-F]{6}";
        default = "#2f6b3a";
        example = "#7a2e6b";
        description = ''
          The colour of the header and the buttons on every page. White text
          is written on it, so the services refuse to start with a colour
          lighter than a contrast of 4.5:1 against white (WCAG AA).
        '';
      };
    };

    locale = {
      default = mkOption {
        type = language;
        default = "sv";
        description = "Language of pages and mails for members who have not chosen one.";
      };
      languages = mkOption {
        type = types.listOf language;
        default = [
          "en"
          "sv"
        ];
        description = "Languages members can choose between.";
      };
      timeZone = mkOption {
        type = types.str;
        default = if config.time.timeZone != null then config.time.timeZone else "UTC";
        defaultText = lib.literalExpression ''if config.time.timeZone != null then config.time.timeZone else "UTC"'';
        example = "Europe/Stockholm";
        description = ''
          The IANA time zone in which pages, receipts and reports show dates and
          times. Defaults to the machine's `time.timeZone`.
        '';
      };
    };

    currency = mkOption {
      type = types.strMatching "[A-Z]{3}";
      default = "SEK";
      example = "EUR";
      description = "The shop's currency, as an ISO 4217 code.";
    };

    cashRounding = mkOption {
      type = types.nullOr decimal;
      default = null;
      example = "0.05";
      description = ''
        The smallest coin cash totals are rounded to. `null` takes the
        currency's usual value (SEK 1, EUR 0.05).
      '';
    };

    vatClasses = mkOption {
      type = types.attrsOf (types.submodule vatClassModule);
      default = swedishVat;
      defaultText = literalExpression ''
        {
          food.rates = [
            { from = "2024-01-01"; percent = "12"; }
            { from = "2026-04-01"; percent = "6"; }
            { from = "2028-01-01"; percent = "12"; }
          ];
          standard.rates = [ { from = "1990-07-01"; percent = "25"; } ];
          books.rates = [ { from = "2024-01-01"; percent = "6"; } ];
        }
      '';
      description = ''
        VAT classes by name, each a schedule of rates by date. Products in
        the catalogue name their class. The default is Sweden's, including
        the decided food VAT cut of 2026-2027. Setting this option replaces
        the whole default; to add a class to it, write
        `vatClasses = options.services.cooperage.vatClasses.default // { ... }`.
      '';
    };

    memberOnlyShop = mkOption {
      type = types.bool;
      default = true;
      description = "Whether only members may buy (the till asks for a member at every sale).";
    };

    memberNumber = {
      prefix = mkOption {
        type = types.str;
        default = "";
        example = "RM-";
        description = "Text put before every member number.";
      };
      digits = mkOption {
        type = types.ints.between 1 12;
        default = 5;
        description = "Number of digits of a member number (zero-padded).";
      };
    };

    mail = {
      enable = mkEnableOption "sending mail (invitations, password resets, receipts). Without it nothing is mailed: an admin sees each invitation link on the page and hands it over, and password resets by mail are not possible";
      from = mkOption {
        type = types.str;
        default = "";
        example = "Röstånga Matkooperativ <noreply@coop.example.org>";
        description = "The sender (`From:`) of every mail.";
      };
      smtp = {
        host = mkOption {
          type = types.str;
          default = "";
          example = "smtp.example.org";
          description = "SMTP server to hand mails to.";
        };
        port = mkOption {
          type = types.nullOr types.port;
          default = null;
          example = 587;
          description = "SMTP port; `null` for the usual one (587 for starttls, 465 for tls, 25 for none).";
        };
        security = mkOption {
          type = types.enum [
            "none"
            "starttls"
            "tls"
          ];
          default = "starttls";
          description = "How the SMTP connection is secured.";
        };
        username = mkOption {
          type = types.nullOr types.str;
          default = null;
          description = "SMTP user name, if the server wants a login.";
        };
        passwordFile = mkOption {
          type = types.nullOr (
            types.pathWith {
              absolute = true;
              inStore = false;
            }
          );
          default = null;
          example = "/run/secrets/cooperage/smtp-password";
          description = ''
            File holding the SMTP password (and nothing else), outside the Nix
            store, e.g. one that agenix or sops-nix provides. Every service
            gets it through systemd's `LoadCredential`, so it only needs to be
            readable by root.
          '';
        };
      };
    };

    openFirewall = mkOption {
      type = types.bool;
      default = true;
      description = "Whether to open TCP ports 80 and 443 (HTTP for ACME and redirects, HTTPS).";
    };

    settings = mkOption {
      type = types.submodule { freeformType = json.type; };
      default = { };
      example = literalExpression ''
        {
          cash_rounding = "0.5";
          services.sso.log_filter = "info,coop_sso=debug";
        }
      '';
      description = ''
        The contents of `/etc/cooperage/cooperage.json`, the file every
        Cooperage binary reads (the keys are documented in `docs/config.md`).
        The options above fill it in; set keys here that have no option of
        their own. A key set both here and through an option is a conflict;
        use `lib.mkForce` to override an option's value. Secrets never go
        here: keys ending in `_file` name a file instead.
      '';
    };

    configFile = mkOption {
      type = types.package;
      readOnly = true;
      default = configFile;
      defaultText = lib.literalMD "the rendered `services.cooperage.settings`";
      description = "The rendered config file (also at /etc/cooperage/cooperage.json).";
    };

    internal.credentials = mkOption {
      type = types.attrsOf types.str;
      default = { };
      internal = true;
      description = ''
        Credentials (name = file) every Cooperage service unit loads, because
        the shared config file names them (the SMTP password).
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.domain != "";
        message = ''
          services.cooperage.domain is not set. Set it to the co-op's public DNS name, e.g.
            services.cooperage.domain = "coop.example.org";
          coop-sso will answer at https://<domain>/ and Synapse at https://matrix.<domain>/.
        '';
      }
      {
        assertion = cfg.domain == "" || domainIsValid;
        message = ''
          services.cooperage.domain is "${cfg.domain}", which is not a public DNS name. Use the
          lower-case fully qualified name members type into their browser, e.g. "coop.example.org"
          (no scheme, no port, no trailing dot or slash).
        '';
      }
      {
        assertion = cfg.organisation.name != "";
        message = ''
          services.cooperage.organisation.name is not set. Members see it on every page and mail, e.g.
            services.cooperage.organisation.name = "Röstånga Matkooperativ";
        '';
      }
      {
        assertion = lib.elem cfg.locale.default cfg.locale.languages;
        message = ''
          services.cooperage.locale.default is "${cfg.locale.default}", which is not one of
          services.cooperage.locale.languages (${lib.concatStringsSep ", " cfg.locale.languages}). Add it there.
        '';
      }
      {
        assertion = cfg.vatClasses != { } && lib.all (c: c.rates != [ ]) (lib.attrValues cfg.vatClasses);
        message = ''
          services.cooperage.vatClasses must have at least one class, and every class at least one rate
          (classes without rates: ${
            lib.concatStringsSep ", " (lib.attrNames (lib.filterAttrs (_: c: c.rates == [ ]) cfg.vatClasses))
          }).
        '';
      }
      {
        assertion = cfg.mail.enable -> (cfg.mail.from != "" && cfg.mail.smtp.host != "");
        message = ''
          services.cooperage.mail.enable is true, so services.cooperage.mail.from and
          services.cooperage.mail.smtp.host must be set (the sender address and the SMTP server).
        '';
      }
      {
        assertion = cfg.mail.smtp.passwordFile != null -> cfg.mail.smtp.username != null;
        message = ''
          services.cooperage.mail.smtp.passwordFile is set but services.cooperage.mail.smtp.username
          is not; an SMTP login needs both.
        '';
      }
    ];

    environment.etc."cooperage/cooperage.json".source = cfg.configFile;

    services.cooperage.settings = {
      organisation = {
        inherit (cfg.organisation) name;
        accent_colour = cfg.organisation.accentColour;
      }
      // optionalAttrs (cfg.organisation.orgNumber != null) { org_number = cfg.organisation.orgNumber; }
      // optionalAttrs (cfg.organisation.logo != null) { logo_file = "${cfg.organisation.logo}"; };
      domain = cfg.domain;
      locale = {
        inherit (cfg.locale) default languages;
        time_zone = cfg.locale.timeZone;
      };
      currency = cfg.currency;
      vat_classes = lib.mapAttrs (_: c: { inherit (c) rates; }) cfg.vatClasses;
      member_only_shop = cfg.memberOnlyShop;
      member_number = {
        inherit (cfg.memberNumber) prefix digits;
      };
    }
    // optionalAttrs (cfg.cashRounding != null) { cash_rounding = cfg.cashRounding; }
    // optionalAttrs cfg.mail.enable {
      mail =
        {
          inherit (cfg.mail) from;
          smtp_host = cfg.mail.smtp.host;
          smtp_security = cfg.mail.smtp.security;
        }
        // optionalAttrs (cfg.mail.smtp.port != null) { smtp_port = cfg.mail.smtp.port; }
        // optionalAttrs (cfg.mail.smtp.username != null) { smtp_username = cfg.mail.smtp.username; }
        // optionalAttrs (cfg.mail.smtp.passwordFile != null) { smtp_password_file = "smtp-password"; };
    };

    services.cooperage.internal.credentials = mkIf (cfg.mail.enable && cfg.mail.smtp.passwordFile != null) {
      smtp-password = toString cfg.mail.smtp.passwordFile;
    };
  };
}
