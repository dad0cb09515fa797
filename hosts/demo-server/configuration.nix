# An example co-op server: copy this folder, change what the comments say,
# and deploy it with the Cooperage flake (docs/operators.md, "Install").
#
# The Cooperage module is not imported here but by the flake that builds the
# machine (`inputs.cooperage.nixosModules.default`), so this file stays the
# same whether it lives in this repository or in the co-op's own.
{ ... }:
{
  imports = [ ./hardware-configuration.nix ];

  # ---- the machine -----------------------------------------------------------
  networking.hostName = "coop";
  networking.domain = "example.org";
  time.timeZone = "Europe/Stockholm";
  i18n.defaultLocale = "sv_SE.UTF-8";

  # The release this machine was first installed with. Never change it on an
  # existing machine (it pins e.g. the PostgreSQL major version).
  system.stateVersion = "26.05";

  # Administration over SSH with keys only. Put your own public key here.
  services.openssh = {
    enable = true;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "prohibit-password";
    };
  };
  users.users.root.openssh.authorizedKeys.keys = [
    # "ssh-ed25519 AAAA... you@laptop"
  ];

  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];
  nix.gc = {
    automatic = true;
    dates = "weekly";
    options = "--delete-older-than 30d";
  };

  # ---- certificates ------------------------------------------------------------
  # By setting acceptTerms you agree to Let's Encrypt's terms of service
  # (https://letsencrypt.org/repository/); the address gets expiry warnings.
  security.acme = {
    acceptTerms = true;
    defaults.email = "it@coop.example.org";
  };

  # ---- the co-op ---------------------------------------------------------------
  services.cooperage = {
    enable = true;
    # coop.example.org and matrix.coop.example.org must point at this machine
    domain = "coop.example.org";
    organisation = {
      name = "Röstånga Matkooperativ";
      orgNumber = "802000-0000";
    };
    locale = {
      default = "sv";
      languages = [
        "sv"
        "en"
      ];
    };
    currency = "SEK";
    # vatClasses: Sweden's by default (food 12 %, 6 % from 2026-04-01, 12 %
    # again from 2028-01-01; standard 25 %; books 6 %).
    memberOnlyShop = true;
    memberNumber = {
      prefix = "";
      digits = 5;
    };

    mail = {
      enable = true;
      from = "Röstånga Matkooperativ <noreply@coop.example.org>";
      smtp = {
        host = "smtp.example.org";
        port = 587;
        security = "starttls";
        username = "noreply@coop.example.org";
        # Provided by sops-nix or agenix; see secrets/README.md.
        passwordFile = "/run/secrets/cooperage/smtp-password";
      };
    };

    # Synapse at https://matrix.coop.example.org, ids @name:coop.example.org
    matrix.enable = true;

    # The catalogue and stock at https://coop.example.org/ims/: a shop and its
    # storeroom; members see where products stand.
    ims = {
      enable = true;
      showLocations = true;
      locations = [
        {
          code = "shop";
          name = "Butiken";
          kind = "shop";
        }
        {
          code = "lager";
          name = "Lagret";
          kind = "storeroom";
        }
      ];
    };

    # The ledger and the members' wallets at https://coop.example.org/finance/;
    # top-ups above 2,000 kr need two bookkeepers.
    finance = {
      enable = true;
      secondBookkeeperAbove = "2000";
    };

    # Nightly database dumps into /var/backup/postgresql (the default).
    backup.enable = true;
  };

  # Keep a week of logs at most on a small disk.
  services.journald.extraConfig = ''
    SystemMaxUse=1G
  '';
}
