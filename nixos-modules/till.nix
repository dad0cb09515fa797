# A Cooperage till: `coop-pos till` (the till's own web UI, its SQLite store
# and its sync with the co-op's server) and a kiosk (cage running Chromium
# full screen on that UI, with no way out to a desktop). The till pairs itself
# with coop-sso on first boot, showing its code on screen until a manager
# approves it at https://<server>/device, and sells on when the network is
# down. Exported by the flake as `nixosModules.till`; docs/tills.md is the
# operator's guide, hosts/till-pi and hosts/till-pc the two machines.
#
# This module is for the till machine only: it does not import the server's
# module (services.cooperage), and a server never imports it.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  inherit (lib)
    concatMapStringsSep
    literalExpression
    mapAttrsToList
    mkDefault
    mkEnableOption
    mkIf
    mkOption
    optional
    types
    ;

  cfg = config.services.cooperage.till;
  json = pkgs.formats.json { };

  user = "cooperage-till";
  kioskUser = "cooperage-kiosk";
  stateDir = "/var/lib/cooperage-till";
  configPath = "/etc/cooperage/till.json";
  listen = "127.0.0.1:${toString cfg.port}";

  server = lib.removeSuffix "/" (if cfg.server == null then "" else cfg.server);
  vendors = cfg.devices.usbVendors // cfg.devices.extraUsbVendors;

  # What coop-pos till reads (crates/coop-pos-till/src/run.rs, TillConfig).
  tillConfig = {
    state_directory = stateDir;
    inherit listen;
    lang = cfg.language;
    central_url = "${server}/pos";
    catalogue_feed_url = "${server}/ims/api/feed";
    # coop-sso is at the root of the co-op's domain
    member_feed_url = "${server}/api/feed";
    sso_url = server;
    devices = lib.filterAttrs (_: v: v != null) {
      printer = cfg.devices.printer;
      paper_width = cfg.devices.paperWidth;
      drawer = cfg.devices.drawer;
      drawer_pin5 = cfg.devices.drawerPin5;
      receipt_qr = cfg.devices.receiptQr;
      scale = cfg.devices.scale;
      pole = cfg.devices.pole;
      terminal_day_at_close = cfg.devices.terminalDayAtClose;
      display_listen =
        if cfg.devices.customerDisplayPort == null then
          null
        else
          "0.0.0.0:${toString cfg.devices.customerDisplayPort}";
      bridge_url =
        if cfg.bridge.enable then
          "http://${localBridgeHost}:${toString cfg.bridge.port}"
        else
          cfg.devices.bridgeUrl;
      bridge_token_file = if tillBridgeToken == null then null else "${tillCredentials}/bridge-token";
    };
  };
  # The till reaches a bridge beside it on loopback, unless the bridge listens on
  # one address only (a device that is also the bridge for other tills).
  localBridgeHost =
    if lib.elem cfg.bridge.listen [
      "0.0.0.0"
      "::"
      "127.0.0.1"
    ] then
      "127.0.0.1"
    else if lib.hasInfix ":" cfg.bridge.listen then
      "[${cfg.bridge.listen}]"
    else
      cfg.bridge.listen;
  bridgeBeyondLoopback = cfg.bridge.listen != "127.0.0.1" && cfg.bridge.listen != "::1";
  # The file with the token the till sends the bridge: the bridge's own, beside
  # it, or the one for a bridge on another device.
  tillBridgeToken = if cfg.bridge.enable then cfg.bridge.tokenFile else cfg.devices.bridgeTokenFile;
  tillCredentials = "/run/credentials/coop-till.service";
  bridgeConfig = lib.filterAttrs (_: v: v != null) {
    listen = "${
      if lib.hasInfix ":" cfg.bridge.listen then "[${cfg.bridge.listen}]" else cfg.bridge.listen
    }:${toString cfg.bridge.port}";
    state_directory = "/var/lib/cooperage-bridge";
    inherit (cfg.bridge) terminal;
    token_file =
      if cfg.bridge.tokenFile == null then null else "/run/credentials/coop-bridge.service/token";
  };
  bridgeFile = json.generate "bridge.json" bridgeConfig;
  configFile = json.generate "till.json" tillConfig;

  checkConfig = pkgs.runCommand "cooperage-till-check-config" { } ''
    ${lib.getExe' cfg.package "coop-pos"} till check-config --config ${configFile} > $out
  '';
  checkBridge = pkgs.runCommand "cooperage-bridge-check-config" { } ''
    ${lib.getExe' cfg.package "coop-pos"} bridge --check --config ${bridgeFile} > $out
  '';

  # USB devices the till's user may open (printers, scanners, scales, the
  # serial adapters scales and pole displays hang off): one rule per vendor id
  # and device kind.
  udevRules = concatMapStringsSep "\n" (
    vendor:
    lib.concatStringsSep "\n" [
      ''SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="${vendor}", GROUP="${user}", MODE="0660"''
      ''SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", ATTRS{idVendor}=="${vendor}", GROUP="${user}", MODE="0660"''
      ''SUBSYSTEM=="tty", ATTRS{idVendor}=="${vendor}", GROUP="${user}", MODE="0660"''
      ''SUBSYSTEM=="hidraw", ATTRS{idVendor}=="${vendor}", GROUP="${user}", MODE="0660"''
    ]
  ) (lib.attrNames vendors);

  kioskScript = pkgs.writeShellScript "cooperage-kiosk" ''
    # Chromium's profile and cache live in the session's tmpfs (/run/user/<uid>):
    # nothing is written to the SD card, and every start is a clean one.
    export HOME="$XDG_RUNTIME_DIR" XDG_CONFIG_HOME="$XDG_RUNTIME_DIR/config" XDG_CACHE_HOME="$XDG_RUNTIME_DIR/cache"
    ${lib.optionalString (cfg.kiosk.rotation != 0) ''
      # cage shows one output as it is; turn each one (wlr-randr talks to cage)
      for output in $(${lib.getExe pkgs.wlr-randr} | ${pkgs.gnugrep}/bin/grep -E '^[^ ]' | ${pkgs.coreutils}/bin/cut -d' ' -f1); do
        ${lib.getExe pkgs.wlr-randr} --output "$output" --transform ${toString cfg.kiosk.rotation}
      done
    ''}    exec ${lib.getExe cfg.kiosk.browser} \
      --kiosk \
      --ozone-platform=wayland \
      --user-data-dir="$XDG_RUNTIME_DIR/chromium" \
      --disk-cache-dir="$XDG_RUNTIME_DIR/cache/chromium" \
      --no-first-run \
      --noerrdialogs \
      --disable-infobars \
      --disable-session-crashed-bubble \
      --disable-translate \
      --disable-features=Translate,TouchpadOverscrollHistoryNavigation \
      --overscroll-history-navigation=0 \
      --disable-pinch \
      --disable-background-networking \
      --disable-component-update \
      --disable-sync \
      --lang=${cfg.language} \
      ${lib.escapeShellArgs cfg.kiosk.extraFlags} \
      http://${listen}/
  '';
in
{
  options.services.cooperage.till = {
    enable = mkEnableOption ''
      a Cooperage till on this machine: `coop-pos till` with its store under
      ${stateDir}, paired with the co-op's server on first boot, and (with
      `kiosk.enable`) its screen full screen on the machine's display'';

    package = mkOption {
      type = types.package;
      default = pkgs.cooperage;
      defaultText = literalExpression "pkgs.cooperage";
      description = ''
        Package providing `bin/coop-pos`. The flake's `nixosModules.till`
        sets it to the package built from the flake.
      '';
    };

    server = mkOption {
      type = types.nullOr (types.strMatching "https?://[^/?#[:space:]]+/?");
      default = null;
      example = "https://coop.example.org";
      description = ''
        The co-op's server, as its members reach it (scheme and host only).
        The till finds coop-pos central at `<server>/pos` and the catalogue at
        `<server>/ims`, and pairs with coop-sso at `<server>` itself.
      '';
    };

    language = mkOption {
      type = types.enum [
        "sv"
        "en"
      ];
      default = "sv";
      description = "The language the till's screen starts in (a cashier can switch).";
    };

    port = mkOption {
      type = types.port;
      default = 8180;
      description = ''
        The port of the till's UI on 127.0.0.1 (never on the network: only the
        kiosk browser on this machine reaches it).
      '';
    };

    kiosk = {
      enable = mkOption {
        type = types.bool;
        default = cfg.enable;
        defaultText = literalExpression "config.services.cooperage.till.enable";
        description = ''
          Whether to show the till full screen on the machine's display: cage
          (a Wayland kiosk compositor) on tty1 running Chromium in kiosk mode
          on the till's UI, restarted when it exits, with no desktop, no
          address bar and no way to switch to another console.
        '';
      };
      browser = mkOption {
        type = types.package;
        default = pkgs.chromium;
        defaultText = literalExpression "pkgs.chromium";
        description = "The browser the kiosk runs (its main program must take Chromium's flags).";
      };
      extraFlags = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "--force-device-scale-factor=1.25" ];
        description = "More command-line flags for the browser.";
      };
      rotation = mkOption {
        type = types.enum [
          0
          90
          180
          270
        ];
        default = 0;
        description = "Turn the screen by this many degrees (a screen mounted on its side).";
      };
    };

    devices = {
      printer = mkOption {
        type = types.nullOr json.type;
        default = null;
        example = literalExpression ''{ kind = "network"; address = "192.168.1.60:9100"; }'';
        description = ''
          The receipt printer (ESC/POS): `{ kind = "usb"; path = "/dev/usb/lp0"; }`,
          `{ kind = "network"; address = "host:9100"; }` or
          `{ kind = "serial"; path = "/dev/ttyUSB0"; baud = 9600; }`. `null`:
          receipts on the screen only. Checked when the system is built.
        '';
      };
      paperWidth = mkOption {
        type = types.ints.between 24 64;
        default = 42;
        description = "Characters a receipt line: 42 on 80 mm paper, 32 on 58 mm.";
      };
      drawer = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Whether a cash drawer hangs on the printer's drawer port: it opens on
          a cash tender and on a manager's "no sale" (which the till logs).
        '';
      };
      drawerPin5 = mkOption {
        type = types.bool;
        default = false;
        description = "The drawer is on the drawer port's pin 5 (most are on pin 2).";
      };
      receiptQr = mkOption {
        type = types.bool;
        default = false;
        description = "Print the receipt number as a QR code instead of a CODE128 barcode.";
      };
      scale = mkOption {
        type = types.nullOr json.type;
        default = null;
        example = literalExpression ''{ kind = "toledo8217"; path = "/dev/ttyUSB0"; }'';
        description = ''
          The checkout scale: `{ kind = "toledo8217"; path = "/dev/ttyUSB0"; baud = 9600; }`
          (the Mettler Toledo 8217 protocol, 7E1), or `{ kind = "simulator"; }`
          for training. `null`: weights are typed.
        '';
      };

      pole = mkOption {
        type = types.nullOr json.type;
        default = null;
        example = literalExpression ''{ path = "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"; baud = 9600; }'';
        description = ''
          A pole display (two lines of twenty characters, Epson DM-D commands) on a
          serial line: `{ path = "/dev/ttyUSB1"; baud = 9600; }`. It shows the line
          scanned and the total, then the total and the change. `null`: none.
        '';
      };
      terminalDayAtClose = mkOption {
        type = types.nullOr types.bool;
        default = null;
        description = ''
          Whether closing a shift ends the card terminal's day (its batch to the
          acquirer), with the terminal's total on the Z report. `null`: only when
          the terminal is this till's own (bridge.enable here). A terminal that
          several tills share through one bridge is ended by one of them: set it
          `true` there and `false` on the others.
        '';
      };
      customerDisplayPort = mkOption {
        type = types.nullOr types.port;
        default = null;
        example = 8181;
        description = ''
          A port on which a second screen on the shop's network (a tablet, a second
          small computer with a browser) shows the customer display at
          `http://<till>:<port>/display`: the basket, the total and the change, and
          nothing else of the till. The firewall opens it. `null`: the display is
          only at the till's own address.
        '';
      };
      bridgeUrl = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "http://192.168.1.40:8190";
        description = ''
          A payment bridge on another device (one beside the card terminal, with
          services.cooperage.till.bridge there). Leave `null` when the bridge runs
          on this till (bridge.enable) or there is no card terminal.
        '';
      };
      bridgeTokenFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = "/run/keys/bridge-token";
        description = ''
          A file (not in the Nix store) with the token that bridge takes (its
          bridge.tokenFile): a refund is money out. Given to the till as a
          systemd credential.
        '';
      };

      usbVendors = mkOption {
        type = types.attrsOf types.str;
        default = {
          "04b8" = "Seiko Epson (TM receipt printers)";
          "0519" = "Star Micronics (receipt printers)";
          "1d90" = "Citizen (receipt printers)";
          "1504" = "Bixolon (receipt printers)";
          "0dd4" = "Custom Engineering (receipt printers)";
          "05e0" = "Symbol / Zebra (barcode scanners)";
          "0c2e" = "Metrologic / Honeywell (barcode scanners)";
          "05f9" = "Datalogic (barcode scanners)";
          "0403" = "FTDI (USB-serial: scales, pole displays)";
          "067b" = "Prolific PL2303 (USB-serial)";
          "1a86" = "WCH CH340 (USB-serial)";
          "10c4" = "Silicon Labs CP210x (USB-serial)";
        };
        description = ''
          USB vendor ids (four lowercase hex digits, as `lsusb` shows them) whose
          devices the till may open: receipt printers (`/dev/usb/lp*`, raw USB),
          scanners in HID POS mode (`/dev/hidraw*`) and serial devices
          (`/dev/ttyUSB*`, `/dev/ttyACM*`: scales, pole displays). A scanner that
          types like a keyboard needs nothing here. Setting this replaces the
          list; to add a vendor to it, use `extraUsbVendors`.
        '';
      };
      extraUsbVendors = mkOption {
        type = types.attrsOf types.str;
        default = { };
        example = literalExpression ''{ "0fe6" = "ICS Advent (a no-name receipt printer)"; }'';
        description = "More USB vendor ids for the till's devices, besides `usbVendors`.";
      };
      extraUdevRules = mkOption {
        type = types.lines;
        default = "";
        example = ''SUBSYSTEM=="tty", KERNEL=="ttyS0", GROUP="cooperage-till", MODE="0660"'';
        description = ''
          More udev rules, e.g. for a scale on the board's own serial port. Give
          devices to the group `${user}`, which the till runs in.
        '';
      };
    };

    bridge = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Whether to run the payment bridge on the till (`coop-pos bridge`, unit
          `coop-bridge`), which drives the card terminal for it. Without it,
          card payments are simulated (training).
        '';
      };
      port = mkOption {
        type = types.port;
        default = 8190;
        description = "The bridge's port.";
      };
      listen = mkOption {
        type = types.str;
        default = "127.0.0.1";
        example = "0.0.0.0";
        description = ''
          The address the bridge listens on: loopback for the till beside it; an
          address on the shop's network for a bridge other tills reach (then
          bridge.tokenFile is required, and the firewall opens the port).
        '';
      };
      tokenFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = "/run/keys/bridge-token";
        description = ''
          A file (not in the Nix store; at least 16 characters) with the token a
          till must send. Required when the bridge listens beyond loopback. Given
          to the bridge, and to a till on this machine, as a systemd credential.
        '';
      };
      terminal = mkOption {
        type = json.type;
        default = {
          kind = "simulator";
        };
        example = literalExpression ''{ kind = "zvt"; address = "192.168.1.50:20007"; password = 0; currency = 752; }'';
        description = ''
          The card terminal: `{ kind = "zvt"; address = "host:20007"; password = 0;
          currency = 752; }` (ZVT over TCP; the currency's ISO 4217 number), or
          `{ kind = "simulator"; }`. Checked when the system is built.
        '';
      };
    };

    upgrade = {
      flake = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "github:our-coop/infrastructure#till-1";
        description = ''
          The co-op's own flake (with this till's configuration): when set, the
          till upgrades itself from it every night (`system.autoUpgrade`), at
          `upgrade.time`, rebooting only inside `upgrade.rebootWindow` if the
          kernel changed. `null`: upgrades are deployed by hand.
        '';
      };
      time = mkOption {
        type = types.strMatching "[0-9]{2}:[0-9]{2}";
        default = "03:40";
        description = "When the nightly upgrade starts (local time, HH:MM): a quiet hour, the shop closed.";
      };
      rebootWindow = {
        lower = mkOption {
          type = types.strMatching "[0-9]{2}:[0-9]{2}";
          default = "03:00";
          description = "Earliest time of day the till may reboot for an upgrade.";
        };
        upper = mkOption {
          type = types.strMatching "[0-9]{2}:[0-9]{2}";
          default = "05:30";
          description = "Latest time of day the till may reboot for an upgrade.";
        };
      };
    };

    journalMaxUse = mkOption {
      type = types.strMatching "[0-9]+[KMG]";
      default = "64M";
      description = ''
        The most the system journal keeps on disk. An SD card wears with every
        write: the till keeps a small journal, and /tmp in memory.
      '';
    };

    watchdogSec = mkOption {
      type = types.ints.between 10 600;
      default = 60;
      description = ''
        Seconds within which the till must tell systemd it is well (its screen
        answers); else it is restarted. The board's hardware watchdog, fed by
        systemd, reboots a machine that hangs altogether.
      '';
    };
  };

  config = lib.mkMerge [
  (mkIf (cfg.kiosk.enable && !cfg.enable) {
    assertions = [
      {
        assertion = false;
        message = ''
          services.cooperage.till.kiosk.enable is true but services.cooperage.till.enable
          is false: the kiosk shows the till's own screen, which only a till serves.
          Set services.cooperage.till.enable = true (and its server).
        '';
      }
    ];
  })
  (mkIf cfg.bridge.enable {
    assertions = [
      {
        assertion = bridgeBeyondLoopback -> cfg.bridge.tokenFile != null;
        message = ''
          services.cooperage.till.bridge.listen (${cfg.bridge.listen}) is beyond loopback:
          set bridge.tokenFile, or anyone on the shop's network could start refunds.
        '';
      }
      {
        assertion = cfg.bridge.tokenFile == null || !(lib.hasPrefix builtins.storeDir (toString cfg.bridge.tokenFile));
        message = ''
          services.cooperage.till.bridge.tokenFile is in the Nix store, which every
          user can read: keep it elsewhere (e.g. /run/keys, or agenix's /run/agenix).
        '';
      }
    ];

    # ---- the payment bridge ------------------------------------------------------
    # Beside the till (or alone, on a device beside the terminal), sandboxed, with
    # no devices: it reaches the terminal over the network. Its journal must
    # survive a crash (a payment whose outcome is unknown is resolved from it
    # before the next).
    environment.etc."cooperage/bridge.json".source = bridgeFile;
    environment.systemPackages = [ cfg.package ];
    networking.firewall.allowedTCPPorts = optional bridgeBeyondLoopback cfg.bridge.port;
    systemd.services.coop-bridge = {
      description = "Cooperage payment bridge (card terminal)";
      wantedBy = [ "multi-user.target" ];
      before = optional cfg.enable "coop-till.service";
      after = [ "network.target" ];
      restartTriggers = [ bridgeFile ];
      environment.COOPERAGE_BRIDGE_CONFIG = "/etc/cooperage/bridge.json";
      serviceConfig = (import ./hardening.nix) // {
        ExecStart = utils.escapeSystemdExecArgs [
          (lib.getExe' cfg.package "coop-pos")
          "bridge"
          "--config"
          "/etc/cooperage/bridge.json"
        ];
        DynamicUser = true;
        StateDirectory = "cooperage-bridge";
        StateDirectoryMode = "0700";
        LoadCredential = optional (cfg.bridge.tokenFile != null) "token:${toString cfg.bridge.tokenFile}";
        Restart = "always";
        RestartSec = "2s";
        # A payment in flight is journalled; let its outcome be written.
        TimeoutStopSec = "20s";
      };
      unitConfig.StartLimitIntervalSec = 0;
    };
    system.checks = mkIf (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) [
      checkBridge
    ];
  })
  (mkIf cfg.enable {
    assertions = [
      {
        assertion = !(cfg.bridge.enable && cfg.devices.bridgeUrl != null);
        message = ''
          services.cooperage.till: bridge.enable runs a payment bridge on this till,
          and devices.bridgeUrl names one on another device: choose one.
        '';
      }
      {
        assertion =
          cfg.devices.bridgeTokenFile == null
          || !(lib.hasPrefix builtins.storeDir (toString cfg.devices.bridgeTokenFile));
        message = ''
          services.cooperage.till.devices.bridgeTokenFile is in the Nix store, which every
          user can read: keep it elsewhere (e.g. /run/keys, or agenix's /run/agenix).
        '';
      }
      {
        assertion = cfg.devices.bridgeTokenFile != null -> cfg.devices.bridgeUrl != null;
        message = ''
          services.cooperage.till.devices.bridgeTokenFile is for a bridge on another
          device (devices.bridgeUrl); a bridge on this till takes bridge.tokenFile.
        '';
      }
      {
        assertion =
          cfg.devices.customerDisplayPort != null
          -> !(lib.elem cfg.devices.customerDisplayPort [
            cfg.port
            cfg.bridge.port
          ]);
        message = ''
          services.cooperage.till.devices.customerDisplayPort (${toString cfg.devices.customerDisplayPort})
          is the till's or the bridge's port: give the customer display its own.
        '';
      }
      {
        assertion = cfg.bridge.enable -> cfg.bridge.port != cfg.port;
        message = ''
          services.cooperage.till.bridge.port (${toString cfg.bridge.port}) is the till's own port:
          give the payment bridge another one.
        '';
      }
      {
        assertion = cfg.server != null;
        message = ''
          services.cooperage.till.server is not set: give the co-op's server as its
          members reach it, e.g. services.cooperage.till.server = "https://coop.example.org";
          (the till pairs with it on first boot and uploads its sales to it).
        '';
      }
      {
        assertion = !(lib.elem config.networking.hostName [
          ""
          "nixos"
        ]);
        message = ''
          services.cooperage.till: set networking.hostName to this till's own name (e.g.
          "till-1"), not "${config.networking.hostName}": a manager sees it beside the
          pairing code, and tells the co-op's tills apart by it.
        '';
      }
      {
        assertion = config.time.timeZone != null;
        message = ''
          services.cooperage.till: set time.timeZone (e.g. "Europe/Stockholm"):
          the till's business day and receipts are in the shop's local time.
        '';
      }
      {
        assertion = lib.all (v: builtins.match "[0-9a-f]{4}" v != null) (lib.attrNames vendors);
        message = ''
          services.cooperage.till.devices: USB vendor ids are four lowercase hex
          digits, as lsusb shows them (e.g. "04b8"); got
          ${lib.concatStringsSep ", " (lib.attrNames vendors)}.
        '';
      }
      {
        assertion = cfg.upgrade.rebootWindow.lower < cfg.upgrade.rebootWindow.upper;
        message = ''
          services.cooperage.till.upgrade.rebootWindow: lower (${cfg.upgrade.rebootWindow.lower})
          must come before upper (${cfg.upgrade.rebootWindow.upper}) on the same night.
        '';
      }
      {
        assertion = !(config.services.cooperage.enable or false);
        message = ''
          services.cooperage.till is for a till machine; this machine also runs the
          co-op's server (services.cooperage.enable). Run the till on its own machine,
          or for a try-out run `cargo xtask demo`, which starts a till beside the server.
        '';
      }
    ];

    warnings = optional (lib.hasPrefix "http://" server) ''
      services.cooperage.till.server is plain http (${cfg.server}): the till's tokens
      and sales cross the network unencrypted. Use https unless this is a test network.
    '';

    users.users.${user} = {
      isSystemUser = true;
      group = user;
      description = "Cooperage till";
    };
    users.groups.${user} = { };

    environment.etc."cooperage/till.json".source = configFile;
    environment.systemPackages = [ cfg.package ];

    systemd.services.coop-till = {
      description = "Cooperage till";
      wantedBy = [ "multi-user.target" ];
      # Not after network-online.target or time-sync.target: the till sells
      # offline, and must start without either.
      after = [ "network.target" ];
      restartTriggers = [ configFile ];
      environment = {
        COOPERAGE_TILL_CONFIG = configPath;
        RUST_LOG = "info";
      };
      # The sandbox of the server's units, but with the devices a till uses:
      # only USB, USB printers, serial ports and HID-raw, and the group that
      # udev gives them to (so no PrivateDevices, no PrivateUsers).
      serviceConfig = removeAttrs (import ./hardening.nix) [
        "PrivateDevices"
        "PrivateUsers"
      ]
      // {
        DeviceAllow = [
          # /proc/devices names: usb_device (189, raw USB), usb (180, /dev/usb/lp*),
          # ttyUSB (188), ttyACM (166), ttyS (4), hidraw (dynamic)
          "char-usb_device rw"
          "char-usb rw"
          "char-ttyUSB rw"
          "char-ttyACM rw"
          "char-ttyS rw"
          "char-hidraw rw"
        ];
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = utils.escapeSystemdExecArgs [
          (lib.getExe' cfg.package "coop-pos")
          "till"
          "--config"
          configPath
        ];
        User = user;
        Group = user;
        # The bridge's token, where the till must send one.
        LoadCredential = optional (tillBridgeToken != null) "bridge-token:${toString tillBridgeToken}";
        StateDirectory = "cooperage-till";
        StateDirectoryMode = "0700";
        Restart = "always";
        RestartSec = "2s";
        WatchdogSec = "${toString cfg.watchdogSec}s";
        # Its store is written durably: let a sale being written finish.
        TimeoutStopSec = "20s";
      };
      # Restarted forever (a till must come back), never given up on.
      unitConfig.StartLimitIntervalSec = 0;
    };

    services.udev.extraRules = lib.concatStringsSep "\n" (
      [
        "# Cooperage till: devices the till (group ${user}) may open"
        udevRules
      ]
      ++ optional (cfg.devices.extraUdevRules != "") cfg.devices.extraUdevRules
    );

    # ---- the kiosk ------------------------------------------------------------
    # A normal user (logind's "user" session class, which may take the display
    # and input devices through cage's PAM session) with no password, so no
    # one logs in as it; nothing is kept in its home: the kiosk's HOME is its
    # /run/user tmpfs. Not in `input`: that would let it read every keyboard.
    users.users.${kioskUser} = mkIf cfg.kiosk.enable {
      isNormalUser = true;
      group = kioskUser;
      description = "Cooperage till kiosk";
    };
    users.groups.${kioskUser} = mkIf cfg.kiosk.enable { };

    services.cage = mkIf cfg.kiosk.enable {
      enable = true;
      user = kioskUser;
      program = kioskScript;
      # -d: no client-side decorations; no -s, so no switching to another console.
      extraArguments = [ "-d" ];
      environment = {
        # a till may run with no keyboard attached (a touch screen)
        WLR_LIBINPUT_NO_DEVICES = "1";
        NIXOS_OZONE_WL = "1";
      };
    };
    systemd.services."cage-tty1" = mkIf cfg.kiosk.enable {
      # The till's screen answers once coop-till is up (Type=notify); when the
      # till restarts, the kiosk restarts with it and loads the page afresh;
      # when the till is started by hand, so is the kiosk.
      wantedBy = [ "coop-till.service" ];
      wants = [ "coop-till.service" ];
      after = [ "coop-till.service" ];
      partOf = [ "coop-till.service" ];
      serviceConfig = {
        Restart = "always";
        RestartSec = "2s";
      };
      unitConfig.StartLimitIntervalSec = 0;
    };
    # Chromium's own policies: no developer tools, downloads, printing dialogs
    # or other sites: only the till's own screen.
    programs.chromium = mkIf cfg.kiosk.enable {
      enable = true;
      extraOpts = {
        URLBlocklist = [ "*" ];
        URLAllowlist = [ "http://${listen}" ];
        DeveloperToolsAvailability = 2;
        DownloadRestrictions = 3;
        AllowFileSelectionDialogs = false;
        PrintingEnabled = false;
        PasswordManagerEnabled = false;
        BrowserSignin = 0;
        SyncDisabled = true;
        TranslateEnabled = false;
        AutofillAddressEnabled = false;
        AutofillCreditCardEnabled = false;
        IncognitoModeAvailability = 1;
        BrowserGuestModeEnabled = false;
        BrowserAddPersonEnabled = false;
      };
    };
    fonts.packages = mkIf cfg.kiosk.enable [ pkgs.dejavu_fonts ];

    # ---- an appliance on an SD card ---------------------------------------------
    # /tmp in memory, a small journal, timesyncd keeping the clock (a Pi 4 has
    # no battery-backed clock: timesyncd also saves the time across reboots).
    boot.tmp.useTmpfs = mkDefault true;
    services.journald.extraConfig = ''
      SystemMaxUse=${cfg.journalMaxUse}
      RuntimeMaxUse=32M
      SyncIntervalSec=5m
    '';
    services.timesyncd.enable = mkDefault true;

    # The hardware watchdog (the Pi's bcm2835_wdt, a PC's iTCO or sp5100):
    # systemd feeds it; a machine that hangs is reset.
    systemd.settings.Manager = {
      RuntimeWatchdogSec = mkDefault "30s";
      RebootWatchdogSec = mkDefault "5min";
    };

    # The drivers whose device numbers the till's DeviceAllow names, loaded at
    # boot so that a printer, scale or scanner plugged in later is allowed.
    boot.kernelModules = [
      "usblp"
      "usbserial"
      "cdc_acm"
    ];

    # The till listens on 127.0.0.1 only: nothing to open but a customer display
    # for a second screen on the shop's network.
    networking.firewall.enable = mkDefault true;
    networking.firewall.allowedTCPPorts = optional (
      cfg.devices.customerDisplayPort != null
    ) cfg.devices.customerDisplayPort;

    system.autoUpgrade = mkIf (cfg.upgrade.flake != null) {
      enable = true;
      inherit (cfg.upgrade) flake;
      dates = cfg.upgrade.time;
      randomizedDelaySec = "10min";
      allowReboot = true;
      rebootWindow = {
        inherit (cfg.upgrade.rebootWindow) lower upper;
      };
      flags = [
        "--print-build-logs"
      ];
    };
    nix.gc = {
      automatic = mkDefault true;
      dates = mkDefault "weekly";
      options = mkDefault "--delete-older-than 14d";
    };
    nix.settings.auto-optimise-store = mkDefault true;

    system.checks = mkIf (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) [
      checkConfig
    ];
  })
  ];
}
