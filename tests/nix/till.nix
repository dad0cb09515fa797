# nix-check: the till machines, hosts/till-pi (the Raspberry Pi SD image) and
# hosts/till-pc, with the flake's nixosModules.till, as `nixos-rebuild` would
# evaluate them, and variants an operator may choose. Run (from the repository
# root): ../shared/nix-check/nix-check tests/nix/till.nix, or tests/nix/run.sh.
{ lib, eval }:
let
  flake = import ./flake-outputs.nix { inherit lib eval; };
  hw = flake.self.inputs.nixos-hardware.nixosModules;

  till = c: c.systemd.services.coop-till;
  sc = c: (till c).serviceConfig;
  cage = c: c.systemd.services."cage-tty1";
  rendered = c: builtins.fromJSON c.environment.etc."cooperage/till.json".source.text;
  kiosk = c: c.services.cage.program.text;
  hasAll = xs: ys: lib.all (x: lib.elem x ys) xs;
  rules = c: c.services.udev.extraRules;

  # what every till, Pi or PC, must be
  common = {
    "coop-till runs `coop-pos till` with the rendered till.json, as its own user" =
      c:
      (sc c).ExecStart == ''"${c.services.cooperage.till.package}/bin/coop-pos" "till" "--config" "/etc/cooperage/till.json"''
      && (sc c).User == "cooperage-till"
      && (sc c).Group == "cooperage-till"
      && c.users.users.cooperage-till.isSystemUser
      && (till c).environment.COOPERAGE_TILL_CONFIG == "/etc/cooperage/till.json";

    "coop-till tells systemd it is ready and feeds a 60 s watchdog; restarted always, never given up" =
      c:
      (sc c).Type == "notify"
      && (sc c).NotifyAccess == "main"
      && (sc c).WatchdogSec == "60s"
      && (sc c).Restart == "always"
      && (till c).unitConfig.StartLimitIntervalSec == 0
      && !((sc c) ? StartLimitIntervalSec);

    "coop-till keeps its store in StateDirectory (/var/lib/cooperage-till, 0700)" =
      c:
      (sc c).StateDirectory == "cooperage-till"
      && (sc c).StateDirectoryMode == "0700"
      && (rendered c).state_directory == "/var/lib/cooperage-till";

    "coop-till is sandboxed like the server's units, with only the till's device classes" =
      c:
      let
        s = sc c;
      in
      s.ProtectSystem == "strict"
      && s.NoNewPrivileges
      && s.PrivateTmp
      && s.ProtectHome
      && s.CapabilityBoundingSet == [ "" ]
      && s.RestrictNamespaces
      && s.MemoryDenyWriteExecute
      && s.SystemCallFilter == [
        "@system-service"
        "~@privileged"
      ]
      && s.DevicePolicy == "closed"
      && !(s ? PrivateDevices)
      && s.DeviceAllow == [
        "char-usb_device rw"
        "char-usb rw"
        "char-ttyUSB rw"
        "char-ttyACM rw"
        "char-ttyS rw"
        "char-hidraw rw"
      ];

    "coop-till starts without the network or a synchronised clock (it sells offline)" =
      c:
      (till c).after == [ "network.target" ]
      && !(lib.elem "network-online.target" ((till c).wants ++ (till c).requires))
      && !(lib.elem "time-sync.target" ((till c).after ++ (till c).wants ++ (till c).requires))
      && lib.elem "multi-user.target" (till c).wantedBy
      && hasAll [ "usblp" "usbserial" "cdc_acm" ] c.boot.kernelModules;

    "till.json: central and catalogue under the server, coop-sso at its root; the UI on 127.0.0.1 only" =
      c:
      rendered c == {
        state_directory = "/var/lib/cooperage-till";
        listen = "127.0.0.1:8180";
        lang = "sv";
        central_url = "https://coop.example.org/pos";
        catalogue_feed_url = "https://coop.example.org/ims/api/feed";
        member_feed_url = "https://coop.example.org/api/feed";
        sso_url = "https://coop.example.org";
        devices = {
          paper_width = 42;
          drawer = false;
          drawer_pin5 = false;
          receipt_qr = false;
        };
      };

    "without a bridge there is no bridge unit, and the till's card payments are simulated" =
      c: !(c.systemd.services ? coop-bridge) && !((rendered c).devices ? bridge_url);

    "the till.json is checked at build time by `coop-pos till check-config`" =
      c:
      lib.any (
        p: lib.hasInfix "coop-pos till check-config --config" (p.buildCommand or "")
      ) c.system.checks;

    "the kiosk: cage on tty1 as cooperage-kiosk runs Chromium full screen on the till's own screen" =
      c:
      c.services.cage.enable
      && c.services.cage.user == "cooperage-kiosk"
      && lib.hasInfix "/bin/chromium" (kiosk c)
      && lib.hasInfix "--kiosk" (kiosk c)
      && lib.hasInfix "http://127.0.0.1:8180/" (kiosk c)
      && lib.hasInfix ''--user-data-dir="$XDG_RUNTIME_DIR/chromium"'' (kiosk c)
      && c.users.users.cooperage-kiosk.isNormalUser
      && !(lib.elem "input" c.users.users.cooperage-kiosk.extraGroups)
      && lib.elem "cage-tty1.service" c.systemd.targets.graphical.wants;

    "no way out: cage without -s (no console switching), Chromium's policies allow only the till's screen" =
      c:
      c.services.cage.extraArguments == [ "-d" ]
      && c.programs.chromium.enable
      && c.programs.chromium.extraOpts.URLBlocklist == [ "*" ]
      && c.programs.chromium.extraOpts.URLAllowlist == [ "http://127.0.0.1:8180" ]
      && c.programs.chromium.extraOpts.DeveloperToolsAvailability == 2
      && c.programs.chromium.extraOpts.DownloadRestrictions == 3;

    "the kiosk restarts when it exits, and with the till, which it waits for" =
      c:
      (cage c).serviceConfig.Restart == "always"
      && (cage c).unitConfig.StartLimitIntervalSec == 0
      && lib.elem "coop-till.service" (cage c).after
      && lib.elem "coop-till.service" (cage c).wants
      && lib.elem "coop-till.service" (cage c).partOf
      && lib.elem "coop-till.service" (cage c).wantedBy;

    "udev: receipt printers, scanners and USB-serial adapters of the documented vendors go to the till's group" =
      c:
      lib.all (
        v:
        lib.hasInfix ''SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", ATTRS{idVendor}=="${v}", GROUP="cooperage-till", MODE="0660"'' (rules c)
        && lib.hasInfix ''SUBSYSTEM=="tty", ATTRS{idVendor}=="${v}", GROUP="cooperage-till", MODE="0660"'' (rules c)
      ) [ "04b8" "0519" "1d90" "1504" "05e0" "0c2e" "05f9" "0403" "067b" "1a86" "10c4" ];

    "an SD card's friend: /tmp in memory, a 64 MiB journal, time kept by timesyncd" =
      c:
      c.boot.tmp.useTmpfs
      && lib.hasInfix "SystemMaxUse=64M" c.services.journald.extraConfig
      && c.services.timesyncd.enable;

    "the hardware watchdog is fed by systemd (30 s), reboots are watched too" =
      c:
      c.systemd.settings.Manager.RuntimeWatchdogSec == "30s"
      && c.systemd.settings.Manager.RebootWatchdogSec == "5min";

    "upgrades from the co-op's flake at 03:40, rebooting only between 03:00 and 05:30" =
      c:
      c.system.autoUpgrade.enable
      && lib.hasPrefix "github:example-coop/infrastructure#till-" c.system.autoUpgrade.flake
      && c.system.autoUpgrade.dates == "03:40"
      && c.system.autoUpgrade.allowReboot
      && c.system.autoUpgrade.rebootWindow == {
        lower = "03:00";
        upper = "05:30";
      }
      && c.nix.gc.automatic;

    "the firewall is on and the till opens no port (SSH only)" =
      c: c.networking.firewall.enable && c.networking.firewall.allowedTCPPorts == [ 22 ];

    "the server's module is not on a till" = c: !(c.services ? cooperage && c.services.cooperage ? enable);
  };

  host =
    config: extra: tests:
    eval {
      modules = [
        flake.self.nixosModules.till
        ./nixos-extra.nix
      ]
      ++ extra;
      inherit config;
      pkgsOverlay = flake.recordRustArgs;
      extraPackages = [ "dejavu_fonts" ];
      inherit tests;
    };

  variant =
    change: tests:
    host {
      imports = [
        ../../hosts/till-pc/configuration.nix
        change
      ];
    } [ ] tests;
in
{
  till-pi = host ../../hosts/till-pi/configuration.nix [ hw.raspberry-pi-4 ] (
    common
    // {
      "the SD image: aarch64, zstd-compressed, named after the till" =
        c:
        c.nixpkgs.hostPlatform.system == "aarch64-linux"
        && c.sdImage.compressImage
        && c.image.fileName == "cooperage-till-1.img.zst";

      "the Pi boots through U-Boot's extlinux with nixos-hardware's Raspberry Pi 4 kernel" =
        c:
        !c.boot.loader.grub.enable
        && c.boot.loader.generic-extlinux-compatible.enable
        && c.boot.kernelPackages.kernel.version == "6.6.51"
        && c.hardware.deviceTree.filter == "bcm2711-rpi-*.dtb";

      "the root file system is mounted noatime" = c: lib.elem "noatime" c.fileSystems."/".options;

      "only the Pi's own kernel modules in the initrd (not every board's), and the VC4 display" =
        c: !c.hardware.enableAllHardware && c.hardware.raspberry-pi."4".fkms-3d.enable;

      "the flake's aarch64 packages have the till's SD image" =
        lib.elem "till-sd-image" (lib.attrNames flake.self.packages.aarch64-linux)
        && !(lib.elem "till-sd-image" (lib.attrNames flake.self.packages.x86_64-linux));
    }
  );

  till-pc = host ../../hosts/till-pc/configuration.nix [ ] (
    common
    // {
      "the PC boots with GRUB on x86_64" =
        c:
        c.nixpkgs.hostPlatform.system == "x86_64-linux" && c.boot.loader.grub.enable && c.boot.loader.grub.device == "/dev/sda";

      "the scale on the PC's own serial port is the till's, after the vendor rules" =
        c:
        lib.hasInfix ''SUBSYSTEM=="tty", KERNEL=="ttyS0", GROUP="cooperage-till", MODE="0660"'' (rules c)
        && lib.hasPrefix "# Cooperage till" (rules c);
    }
  );

  # A till without a screen of its own (e.g. a tablet browses to it): no cage, no Chromium.
  headless = variant { services.cooperage.till.kiosk.enable = false; } {
    "no kiosk: no cage, no Chromium policies, the till still runs" =
      c: !c.services.cage.enable && !(c.systemd.services ? "cage-tty1") && c.systemd.services ? coop-till;
  };

  # A screen mounted on its side, an English-speaking shop, another port, a vendor added.
  options = variant {
    services.cooperage.till = {
      kiosk.rotation = 90;
      language = lib.mkForce "en";
      port = 8190;
      devices.extraUsbVendors."0fe6" = "ICS Advent (a no-name receipt printer)";
      upgrade.flake = lib.mkForce null;
    };
  } {
    "the screen is turned with wlr-randr before Chromium starts" =
      c:
      lib.hasInfix "/bin/wlr-randr\" --output \"$output\" --transform 90" (kiosk c)
      || lib.hasInfix "--transform 90" (kiosk c);
    "the port and language reach till.json, the kiosk and Chromium's allow list" =
      c:
      (rendered c).listen == "127.0.0.1:8190"
      && (rendered c).lang == "en"
      && lib.hasInfix "http://127.0.0.1:8190/" (kiosk c)
      && lib.hasInfix "--lang=en" (kiosk c)
      && c.programs.chromium.extraOpts.URLAllowlist == [ "http://127.0.0.1:8190" ];
    "an added vendor joins the defaults" =
      c:
      lib.hasInfix ''ATTRS{idVendor}=="0fe6", GROUP="cooperage-till"'' (rules c)
      && lib.hasInfix ''ATTRS{idVendor}=="04b8", GROUP="cooperage-till"'' (rules c);
    "without a flake, no automatic upgrade" = c: !(c.system.autoUpgrade.enable or false);
  };

  # The devices: a network printer with a drawer, 58 mm paper and QR codes, a scale, and the
  # payment bridge with a ZVT terminal.
  devices = variant {
    services.cooperage.till = {
      devices = {
        printer = {
          kind = "network";
          address = "192.168.1.60:9100";
        };
        drawer = true;
        paperWidth = 32;
        receiptQr = true;
        scale = {
          kind = "toledo8217";
          path = "/dev/ttyUSB0";
        };
      };
      bridge = {
        enable = true;
        terminal = {
          kind = "zvt";
          address = "192.168.1.50:20007";
          currency = 752;
        };
      };
    };
  } {
    "till.json has the printer, the drawer, the paper, the scale and the bridge on loopback" =
      c:
      (rendered c).devices == {
        printer = {
          kind = "network";
          address = "192.168.1.60:9100";
        };
        paper_width = 32;
        drawer = true;
        drawer_pin5 = false;
        receipt_qr = true;
        scale = {
          kind = "toledo8217";
          path = "/dev/ttyUSB0";
        };
        bridge_url = "http://127.0.0.1:8190";
      };
    "the bridge runs as a dynamic user, sandboxed, with its journal kept, before the till" =
      c:
      let
        u = c.systemd.services.coop-bridge;
        s = u.serviceConfig;
      in
      s.DynamicUser
      && s.StateDirectory == "cooperage-bridge"
      && s.ProtectSystem == "strict"
      && s.Restart == "always"
      && lib.hasInfix "coop-pos\" \"bridge\" \"--config\" \"/etc/cooperage/bridge.json" s.ExecStart
      && lib.elem "coop-till.service" u.before
      && lib.elem "multi-user.target" u.wantedBy;
    "bridge.json names the terminal and the journal, and is checked at build time" =
      c:
      let
        b = builtins.fromJSON c.environment.etc."cooperage/bridge.json".source.text;
      in
      b == {
        listen = "127.0.0.1:8190";
        state_directory = "/var/lib/cooperage-bridge";
        terminal = {
          kind = "zvt";
          address = "192.168.1.50:20007";
          currency = 752;
        };
      }
      && lib.any (p: lib.hasInfix "coop-pos bridge --check --config" (p.buildCommand or "")) c.system.checks;
  };

  # A pole display and a second screen on the network; the bridge on another device.
  remote-bridge = variant {
    services.cooperage.till = {
      devices = {
        pole = {
          path = "/dev/ttyUSB1";
          baud = 9600;
        };
        customerDisplayPort = 8181;
        bridgeUrl = "http://192.168.1.40:8190";
        bridgeTokenFile = "/run/keys/bridge-token";
      };
    };
  } {
    "till.json has the pole display, the second screen's address and the remote bridge with its token as a credential" =
      c:
      let
        d = (rendered c).devices;
      in
      d.pole == {
        path = "/dev/ttyUSB1";
        baud = 9600;
      }
      && d.display_listen == "0.0.0.0:8181"
      && d.bridge_url == "http://192.168.1.40:8190"
      && d.bridge_token_file == "/run/credentials/coop-till.service/bridge-token";
    "the till loads the bridge's token as a credential, and runs no bridge itself" =
      c:
      c.systemd.services.coop-till.serviceConfig.LoadCredential == [
        "bridge-token:/run/keys/bridge-token"
      ]
      && !(c.systemd.services ? coop-bridge);
    "the firewall opens the customer display's port and nothing else new" =
      c: c.networking.firewall.allowedTCPPorts == [ 22 8181 ];
  };

  # A device beside the card terminal that is only the bridge, for the tills on the network.
  bridge-only = variant {
    services.cooperage.till = {
      enable = lib.mkForce false;
      bridge = {
        enable = true;
        listen = "0.0.0.0";
        tokenFile = "/run/keys/bridge-token";
        terminal = {
          kind = "zvt";
          address = "192.168.1.50:20007";
          currency = 752;
        };
      };
    };
  } {
    "no till runs, the bridge does, listening on the network with its token as a credential" =
      c:
      let
        s = c.systemd.services.coop-bridge.serviceConfig;
        b = builtins.fromJSON c.environment.etc."cooperage/bridge.json".source.text;
      in
      !(c.systemd.services ? coop-till)
      && s.LoadCredential == [ "token:/run/keys/bridge-token" ]
      && b.listen == "0.0.0.0:8190"
      && b.token_file == "/run/credentials/coop-bridge.service/token"
      && c.systemd.services.coop-bridge.before == [ ];
    "the firewall opens the bridge's port" =
      c: lib.elem 8190 c.networking.firewall.allowedTCPPorts;
  };
}
