# NixOS VM test of a till with its server (flake: checks.<system>.vm-till):
#
#   1. the server comes up (coop-sso, coop-pos central, coop-ims, coop-finance),
#      with the demo members and catalogue (`cooperage-manage <svc> demo-seed`);
#   2. the till boots into its kiosk, which shows a pairing code (OCR, screenshot);
#      its /healthz answers 503 meanwhile;
#   3. a manager signs in on the server, opens /device and approves the code;
#   4. the till syncs its settings, the catalogue and the members, and the kiosk
#      shows the till's own screen (OCR, screenshot);
#   5. a member claims a top-up that a bookkeeper confirms; a cashier sets a till PIN;
#   6. through the till's HTTP interface, the cashier sells to the member from
#      their wallet (member price, held online) and to a walk-in for cash; both
#      sales reach central, inventory (stock moved) and the ledger (one entry each),
#      and the member's wallet is charged;
#   7. the till is cut off (`till.block()`), sells on (cash), is unblocked, and
#      every sale arrives exactly once; the same for a till whose card "broke":
#      its unsent sales are exported from its store (`coop-pos till
#      export-unsent`) and imported on the server (`cooperage-manage pos
#      import-till-sales`), and when the till comes back nothing is doubled.
#
# This test has not yet run on real NixOS (it was written where no Nix builds
# can run). The lines marked "<service> interface" are what it assumes of the
# services' pages; each is covered by the service's own tests in the workspace.
{ self }:
{ lib, pkgs, ... }:
let
  domain = "coop.test";

  certs = import ./certs.nix {
    inherit pkgs;
    names = [ domain ];
  };
in
{
  name = "cooperage-till";

  # OCR reads the kiosk's screen (the pairing code, the till's own screen)
  enableOCR = true;

  nodes.server =
    { lib, pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      virtualisation.memorySize = 3072;
      virtualisation.cores = 2;

      networking.hosts."127.0.0.1" = [ domain ];
      security.pki.certificateFiles = [ "${certs}/ca.pem" ];

      services.cooperage = {
        enable = true;
        inherit domain;
        organisation.name = "Test Co-op";
        locale.default = "en";
        finance.enable = true;
        ims.enable = true;
        pos.enable = true;
      };
      services.nginx.virtualHosts.${domain} = {
        enableACME = lib.mkForce false;
        sslCertificate = "${certs}/cert.pem";
        sslCertificateKey = "${certs}/key.pem";
      };

      environment.systemPackages = [
        pkgs.curl
        pkgs.jq
      ];
    };

  nodes.till =
    { nodes, lib, pkgs, ... }:
    {
      imports = [ self.nixosModules.till ];

      virtualisation.memorySize = 2048;
      virtualisation.cores = 2;
      # a display for cage and Chromium, as nixpkgs' cage test has
      virtualisation.qemu.options = [ "-vga none -device virtio-gpu-pci" ];

      networking.hostName = "till-1";
      time.timeZone = "Europe/Stockholm";
      networking.hosts.${nodes.server.networking.primaryIPAddress} = [ domain ];
      # coop-pos trusts the system's certificates (/etc/ssl/certs) besides the public roots
      security.pki.certificateFiles = [ "${certs}/ca.pem" ];

      services.cooperage.till = {
        enable = true;
        server = "https://${domain}";
        language = "en";
        # no GPU in the VM
        kiosk.extraFlags = [ "--disable-gpu" ];
        # A network receipt printer (the stand-in below) with a drawer, and the
        # payment bridge with its simulated terminal.
        devices = {
          printer = {
            kind = "network";
            address = "127.0.0.1:9100";
          };
          drawer = true;
        };
        bridge.enable = true;
      };

      # The printer: a TCP listener on 9100 that answers each status query
      # (DLE EOT n) "ready", as a printer with paper does, and keeps every other
      # byte it is sent in /tmp/printed.
      systemd.services.printer-stand-in = {
        wantedBy = [ "multi-user.target" ];
        before = [ "coop-till.service" ];
        serviceConfig.ExecStart = "${pkgs.python3}/bin/python3 ${pkgs.writeText "printer.py" ''
          import asyncio

          async def serve(reader, writer):
              pending = b""
              while chunk := await reader.read(4096):
                  pending += chunk
                  kept = bytearray()
                  while pending:
                      if pending[:2] == b"\x10\x04":
                          if len(pending) < 3:
                              break
                          writer.write(b"\x12")
                          pending = pending[3:]
                      else:
                          kept.append(pending[0])
                          pending = pending[1:]
                  with open("/tmp/printed", "ab") as f:
                      f.write(kept)
                  await writer.drain()

          async def main():
              server = await asyncio.start_server(serve, "127.0.0.1", 9100)
              await server.serve_forever()

          asyncio.run(main())
        ''}";
      };

      environment.systemPackages = [
        pkgs.curl
        pkgs.sqlite
      ];
    };

  # tests/vm/helpers.py: http, browse, submit, invite_link, totp, accept_invitation, sign_in
  testScript = builtins.readFile ./helpers.py + ''
    import json
    from decimal import Decimal

    DOMAIN = "${domain}"
    TILL = "http://127.0.0.1:8180"
    # coop-sso interface: the paths of its sign-in and account pages
    LOGIN_PATH = "/login"
    ACCOUNT_PATH = "/account"
    PIN = "4711"
    STORE = "/var/lib/cooperage-till/till.sqlite"


    def ean13(body):
        """The EAN-13 of a 12-digit body (coop-ims's demo codes are 73100010000N)."""
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
        return body + str((10 - total % 10) % 10)


    def sql(db, query):
        return server.succeed(f"runuser -u postgres -- psql -d {db} -tAc {shlex.quote(query)}").strip()


    def till_sql(query):
        return till.succeed(f"sqlite3 {STORE} {shlex.quote(query)}").strip()


    def sign_in_totp(jar, who):
        """Sign in; a role that needs a second factor enrols TOTP on the way."""
        url, _, page = browse(jar, f"https://{DOMAIN}{LOGIN_PATH}")
        url, _, page = submit(jar, url, page, {"email": who["email"]}, password=who["password"])
        # coop-sso interface: TOTP enrolment shows the key as <code id="totp-secret">
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
        if found:
            submit(jar, url, page, {"code": totp(found.group(1))})
        url, _, page = browse(jar, f"https://{DOMAIN}{ACCOUNT_PATH}")
        assert urllib.parse.urlparse(url).path == ACCOUNT_PATH, f"{who['email']} is not signed in: {url}"


    def till_page(jar, path="/"):
        return browse(jar, TILL + path, on=till)


    def till_form(jar, action, fill=None, password=None):
        """Submit the till's form with this action, from the page it is on."""
        url, _, page = till_page(jar)
        return submit(jar, url, page, fill or {}, password=password, on=till, action=action)


    def sell(jar, code, tenders, member=None):
        """One sale at the till: scan, attach a member, pay. Answers the till page after it."""
        till_form(jar, "/scan", {"code": code})
        if member:
            till_form(jar, "/member", {"number": member})
        _, _, page = till_form(jar, "/pay", tenders)
        return page


    def central_sales():
        return int(sql("coop_pos", "select count(*) from sale"))


    def settled(expected):
        """central, inventory and the ledger all hold `expected` sales, each once."""
        assert central_sales() == expected, f"central has {central_sales()} sales, not {expected}"
        ims = int(sql("coop_ims", "select count(distinct split_part(source_key, ':', 3)) from stock_movement where source_key like 'coop-pos:sale:%'"))
        books = int(sql("coop_finance", "select count(*) from journal_entry where source_key like 'coop-pos:sale:%'"))
        return ims == expected and books == expected


    start_all()

    with subtest("the server comes up with the demo members and catalogue"):
        server.wait_for_unit("multi-user.target")
        for unit in ["coop-sso.service", "coop-pos.service", "coop-ims.service", "coop-finance.service", "nginx.service"]:
            server.wait_for_unit(unit)
        for path in ["/readyz", "/pos/readyz", "/ims/readyz", "/finance/readyz"]:
            server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}{path}")
        # coop-sso interface: demo-seed prints "<email> <password> (<roles>)" per member
        seeded = server.succeed("cooperage-manage sso demo-seed")
        passwords = dict(re.findall(r"^(\S+@demo\.coop)\s+(\S+)", seeded, re.M))
        MANAGER = {"email": "cecilia@demo.coop", "password": passwords["cecilia@demo.coop"]}
        BOOKKEEPER = {"email": "bo@demo.coop", "password": passwords["bo@demo.coop"]}
        MEMBER = {"email": "david@demo.coop", "password": passwords["david@demo.coop"]}
        server.succeed("cooperage-manage ims demo-seed")
        server.succeed("cooperage-manage finance demo-seed")

    with subtest("the till boots into its kiosk, which shows a pairing code"):
        till.wait_for_unit("coop-till.service")
        till.wait_until_succeeds(f"curl -sf {TILL}/ | grep -q 'id=\"pair-code\"'")
        page = till.succeed(f"curl -sf {TILL}/")
        code = re.search(r'id="pair-code">([A-Z]{4}-[A-Z]{4})<', page).group(1)
        till.succeed(f"test \"$(curl -s -o /dev/null -w '%{{http_code}}' {TILL}/healthz)\" = 503")
        # the kiosk: cage on tty1 running Chromium on the till's screen
        till.wait_for_unit("cage-tty1.service")
        till.wait_until_succeeds("pgrep -u cooperage-kiosk -f 'chromium.*--kiosk'")
        till.wait_for_text("Pair this till")
        till.screenshot("kiosk-pairing")
        # no desktop behind it: no getty on tty1, the till's UI not on the network
        till.fail("systemctl is-active getty@tty1.service")
        server.fail("curl -sf --max-time 3 http://till:8180/")

    with subtest("a manager approves the till at /device"):
        sign_in_totp("/tmp/manager.jar", MANAGER)
        # coop-sso interface: /device asks for the code, then for the till's name with
        # "approve" and "deny" buttons (name="decision")
        url, _, page = browse("/tmp/manager.jar", f"https://{DOMAIN}/device")
        url, _, page = submit("/tmp/manager.jar", url, page, {"user_code": code})
        submit("/tmp/manager.jar", url, page, {"name": "Kassa 1"}, extra={"decision": "approve"})

    with subtest("the till syncs its settings, the catalogue and the members, and shows its own screen"):
        till.wait_until_succeeds(f"curl -sf {TILL}/healthz", timeout=120)
        till.wait_until_succeeds(f"test \"$(sqlite3 {STORE} 'select count(*) from product')\" -ge 10", timeout=120)
        till.wait_until_succeeds(f"test \"$(sqlite3 {STORE} 'select count(*) from member')\" -ge 4", timeout=120)
        # the kiosk's page reloads itself onto the till's own screen
        till.wait_for_text("Unlock the till")
        till.screenshot("kiosk-till")
        # central knows the till by the name the manager gave it
        server.wait_until_succeeds("runuser -u postgres -- psql -d coop_pos -tAc 'select count(*) from till' | grep -qx 1")

    with subtest("a member tops up (a bookkeeper confirms); the cashier sets a till PIN"):
        sign_in("/tmp/member.jar", {"name": "David Lind", **MEMBER})
        # coop-finance interface: the wallet page has the claim form (amount)
        url, _, page = browse("/tmp/member.jar", f"https://{DOMAIN}/finance")
        submit("/tmp/member.jar", url, page, {"amount": "300", "bank_reference": "Swish 1234"}, action="/top-ups/claim")
        sign_in_totp("/tmp/bookkeeper.jar", BOOKKEEPER)
        # coop-finance interface: /finance/top-ups lists claims, each with a confirm form
        url, _, page = browse("/tmp/bookkeeper.jar", f"https://{DOMAIN}/finance/top-ups")
        confirm = re.findall(r'action="([^"]*/top-ups/[^"/]+/confirm)"', html.unescape(page))
        assert confirm, f"no claim to confirm:\n{page}"
        for action in confirm:
            submit("/tmp/bookkeeper.jar", url, page, {}, action=action)
        # coop-pos interface: /pos/pin sets one's own till PIN (twice)
        url, _, page = browse("/tmp/manager.jar", f"https://{DOMAIN}/pos/pin")
        submit("/tmp/manager.jar", url, page, {}, password=PIN)
        till.wait_until_succeeds(f"test \"$(sqlite3 {STORE} 'select count(*) from cashier')\" -ge 1", timeout=60)

    with subtest("the cashier sells to the member from the wallet and to a walk-in for cash"):
        number = sql("coop_sso", "select member_number from member where email = 'david@demo.coop'")
        oats = ean13("731000100001")
        jar = "/tmp/till.jar"
        till_form(jar, "/unlock", password=PIN)
        till_form(jar, "/shift/open", {"amount": "500"})
        # the member price (22.90) from the wallet, held online at coop-finance
        sell(jar, oats, {"t-wallet": "22.90"}, member=number)
        # the shelf price (24.90) in cash: 30 given
        sell(jar, oats, {"t-cash": "30"})
        assert till_sql("select count(*) from journal") == "2"
        server.wait_until_succeeds("test \"$(runuser -u postgres -- psql -d coop_pos -tAc 'select count(*) from sale')\" = 2", timeout=60)
        for _ in range(60):
            if settled(2):
                break
            server.sleep(1)
        assert settled(2), "the two sales did not reach inventory and the ledger once each"
        # stock moved: two packets of oats sold
        sold = sql("coop_ims", "select -sum(quantity) from stock_movement where kind = 'sold'")
        assert Decimal(sold) == 2, sold
        # the member's wallet is charged the sale, once, from the hold placed online
        charged = sql("coop_finance", "select count(*) from wallet_movement where kind = 'capture' and amount = -22.90")
        assert charged == "1", f"the wallet was not charged once: {charged}"

    with subtest("cut off from the server, the till sells on; back, every sale arrives once"):
        till.block()
        for _ in range(3):
            sell(jar, oats, {"t-cash": "50"})
        till.succeed("sleep 12")
        assert central_sales() == 2, "a sale reached central through a cut cable"
        assert till_sql("select count(*) from journal where uploaded_at is null") == "3"
        till.unblock()
        server.wait_until_succeeds("test \"$(runuser -u postgres -- psql -d coop_pos -tAc 'select count(*) from sale')\" = 5", timeout=120)
        till.wait_until_succeeds(f"test \"$(sqlite3 {STORE} 'select count(*) from journal where uploaded_at is null')\" = 0", timeout=60)
        for _ in range(60):
            if settled(5):
                break
            server.sleep(1)
        assert settled(5)
        # the same sums on both sides
        central = Decimal(sql("coop_pos", "select sum(total) from sale"))
        local = Decimal(till_sql("select sum(json_extract(record, '$.total')) from journal"))
        assert central == local, f"central {central}, till {local}"

    with subtest("a broken till's unsent sales are recovered from its store, and nothing doubles"):
        till.block()
        for _ in range(2):
            sell(jar, oats, {"t-cash": "25"})
        # the till "breaks": its card goes into another machine (here: the server)
        till.succeed("systemctl stop coop-till.service")
        till.succeed("mkdir -p /tmp/card && cp -a /var/lib/cooperage-till/. /tmp/card/")
        # copy_from_vm puts it in the driver's out_dir under its own name
        till.copy_from_vm("/tmp/card")
        server.copy_from_host(str(till.out_dir / "card"), "/tmp/card")
        server.succeed("test -f /tmp/card/till.sqlite")
        server.succeed("${lib.getExe' self.packages.${pkgs.stdenv.hostPlatform.system}.cooperage "coop-pos"} till export-unsent --store /tmp/card > /tmp/unsent.json")
        unsent = json.loads(server.succeed("cat /tmp/unsent.json"))
        assert len(unsent["sales"]) == 2, unsent
        taken = json.loads(server.succeed("cooperage-manage pos import-till-sales < /tmp/unsent.json"))
        assert (taken["accepted"], taken["duplicates"]) == (2, 0), taken
        assert central_sales() == 7
        # again: nothing changes
        taken = json.loads(server.succeed("cooperage-manage pos import-till-sales < /tmp/unsent.json"))
        assert (taken["accepted"], taken["duplicates"]) == (0, 2), taken
        # the till comes back after all: its uploads are duplicates, and it is in step
        till.succeed("systemctl start coop-till.service")
        till.unblock()
        till.wait_until_succeeds(f"test \"$(sqlite3 {STORE} 'select count(*) from journal where uploaded_at is null')\" = 0", timeout=120)
        assert central_sales() == 7
        for _ in range(60):
            if settled(7):
                break
            server.sleep(1)
        assert settled(7)

    with subtest("a card through the bridge prints the terminal's slip; the close ends the terminal's day"):
        till.succeed("systemctl is-active coop-bridge.service")
        # the bridge's journal is its own, not the till's
        till.succeed("test -f /var/lib/cooperage-bridge/bridge.sqlite")
        sell(jar, oats, {"t-card": "24.90"})
        card = till_sql("select json_extract(value, '$.reference') from journal, json_each(json_extract(record, '$.tenders')) where json_extract(value, '$.kind') = 'card'")
        assert card.startswith("SIM-"), card
        till.wait_until_succeeds("grep -a -q 'CARD PAYMENT' /tmp/printed", timeout=30)
        till.succeed("grep -a -q 'AMOUNT 24.90' /tmp/printed")
        # the shift closes: the Z report prints by itself, with the terminal's day beside
        # the till's card payments
        url, _, page = till_page(jar, "/shift")
        submit(jar, url, page, {"amount": "0"}, on=till, action="/shift/close")
        till.wait_until_succeeds("grep -a -q 'Card terminal, day' /tmp/printed", timeout=30)
        assert till_sql("select terminal_reported from shift where closed_at is not null") == "1"
        assert till_sql("select terminal_total from shift where closed_at is not null") == "2490"
  '';
}
