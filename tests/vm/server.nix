# NixOS VM test of a co-op server (flake: checks.<system>.vm-server):
#
#   1. the server boots with every unit up (PostgreSQL, coop-sso, coop-ims, coop-finance,
#      Synapse, nginx);
#   2. an admin is bootstrapped with `cooperage-manage sso bootstrap-admin`,
#      accepts the invitation and invites a member;
#   3. the member accepts the invitation and signs in through coop-sso, with
#      curl and a cookie jar, as a browser would;
#   4. the member opens their wallet at coop-finance, the product finder at coop-ims and
#      their purchases at coop-pos, signed in through coop-sso; a till asks coop-sso for a
#      pairing code, is paired from the console, and its token is taken by coop-pos central;
#   5. the member signs in to Synapse through coop-sso (m.login.sso redirect ->
#      coop-sso's form -> Synapse's OIDC callback -> m.login.token) and gets an
#      access token, with the display name coop-sso gave;
#   6. the buyers club's Matrix bot was registered by cooperage-matrix-bot.service (Synapse's
#      registration shared secret, which the buyers club itself never gets) and made the
#      co-op's room, which the member joins; the member opens the buyers club's pages;
#   7. the nightly dump runs, and the documented restore procedure (by hand, then with
#      `cooperage-manage restore`) brings the
#      database back (the member can still sign in).
#
# Certificates: the vhosts use a certificate from a test CA made at build
# time, which the machine trusts (so Synapse accepts coop-sso's issuer URL);
# ACME itself is nixpkgs' business and tested there.
#
# This test has not yet run on real NixOS (it was written where no Nix builds
# can run). The lines marked "coop-sso interface" are what it assumes of
# coop-sso's web pages; see docs/operators.md.
{ self }:
{ lib, pkgs, ... }:
let
  domain = "coop.test";
  matrixHost = "matrix.${domain}";

  certs = import ./certs.nix {
    inherit pkgs;
    names = [
      domain
      matrixHost
    ];
  };
in
{
  name = "cooperage-server";

  nodes.server =
    { lib, pkgs, ... }:
    {
      imports = [ self.nixosModules.default ];

      virtualisation.memorySize = 3072;
      virtualisation.cores = 2;

      networking.hosts."127.0.0.1" = [
        domain
        matrixHost
      ];
      security.pki.certificateFiles = [ "${certs}/ca.pem" ];

      services.cooperage = {
        enable = true;
        inherit domain;
        organisation.name = "Test Co-op";
        locale.default = "en";
        matrix.enable = true;
        finance.enable = true;
        ims.enable = true;
        pos.enable = true;
        buyersClub.enable = true;
      };

      # the test CA's certificate instead of Let's Encrypt
      services.nginx.virtualHosts = lib.genAttrs [ domain matrixHost ] (_: {
        enableACME = lib.mkForce false;
        sslCertificate = "${certs}/cert.pem";
        sslCertificateKey = "${certs}/key.pem";
      });

      services.matrix-synapse.settings = {
        # no matrix.org in a VM without network
        trusted_key_servers = [ ];
        # redirect straight to the client after sign-in (no confirmation page)
        sso.client_whitelist = [ "https://client.invalid/" ];
      };
      # Synapse's HTTP client reads the system's CA bundle through OpenSSL
      systemd.services.matrix-synapse.environment.SSL_CERT_FILE = "/etc/ssl/certs/ca-certificates.crt";

      environment.systemPackages = [
        pkgs.curl
        pkgs.jq
      ];
    };

  # tests/vm/helpers.py: http, browse, submit, invite_link, totp, accept_invitation, sign_in
  testScript = builtins.readFile ./helpers.py + ''
    import json

    DOMAIN = "${domain}"
    MATRIX = "${matrixHost}"
    # coop-sso interface: the paths of its sign-in, admin-invite and account pages
    LOGIN_PATH = "/login"
    INVITE_MEMBER_PATH = "/admin/members/invite"
    ACCOUNT_PATH = "/account"
    ADMIN = {"email": "ada@coop.test", "name": "Ada Admin", "password": "correct horse battery staple"}
    MEMBER = {"email": "mia@coop.test", "name": "Mia Member", "password": "a long member passphrase 42"}
    # where Synapse sends the member back after sign-in; never fetched
    CLIENT = "https://client.invalid/after-login"


    def matrix(path, token=None, data=None):
        args = ["curl", "--silent", "--show-error", "--fail-with-body"]
        if token:
            args += ["-H", f"Authorization: Bearer {token}"]
        if data is not None:
            args += ["-H", "Content-Type: application/json", "--data", json.dumps(data)]
        return json.loads(server.succeed(shlex.join(args + [f"https://{MATRIX}{path}"])))


    start_all()

    with subtest("the server boots with every unit up"):
        server.wait_for_unit("multi-user.target")
        for unit in ["postgresql.target", "cooperage-secrets.service", "coop-sso.service",
                     "coop-finance.service", "coop-ims.service", "coop-pos.service",
                     "cooperage-synapse-database.service", "matrix-synapse.service", "nginx.service",
                     "coop-buyers-club.service"]:
            server.wait_for_unit(unit)
        server.wait_for_open_port(8101)
        server.wait_for_open_port(8104)
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/finance/readyz")
        server.wait_for_open_port(8103)
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/ims/readyz")
        server.wait_for_open_port(8102)
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/pos/readyz")
        server.wait_for_open_port(8105)
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/buyers-club/readyz")
        server.wait_for_open_port(8008)
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/readyz")
        server.succeed("test -z \"$(systemctl list-units --failed --plain --no-legend)\"")

    with subtest("coop-sso runs sandboxed, as the database role's name"):
        props = server.succeed("systemctl show coop-sso.service -p User -p DynamicUser -p ProtectSystem -p NoNewPrivileges")
        for expected in ["User=coop_sso", "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"]:
            assert expected in props, props
        server.succeed("curl -sSf http://127.0.0.1:8101/healthz")
        server.succeed("curl -sSf http://127.0.0.1:8101/metrics")
        server.fail(f"curl -sSf https://{DOMAIN}/metrics")

    with subtest("secrets: the shared client secret was generated, root-only, outside the store"):
        server.succeed("test \"$(stat -c '%a %U' /var/lib/cooperage-secrets)\" = '700 root'")
        server.succeed("test \"$(stat -c '%a %U' /var/lib/cooperage-secrets/synapse-oidc-client-secret)\" = '600 root'")
        server.succeed("test \"$(wc -c < /var/lib/cooperage-secrets/synapse-oidc-client-secret)\" -eq 64")
        server.fail("grep -R \"$(cat /var/lib/cooperage-secrets/synapse-oidc-client-secret)\" /etc/cooperage/")

    with subtest("Synapse's database has C collation"):
        collation = server.succeed(
            "runuser -u postgres -- psql -tAc \"SELECT datcollate || ' ' || datctype FROM pg_database WHERE datname = 'matrix-synapse'\""
        ).strip()
        assert collation == "C C", collation

    with subtest("discovery and Matrix delegation are served on the domain"):
        discovery = json.loads(server.succeed(f"curl -sSf https://{DOMAIN}/.well-known/openid-configuration"))
        assert discovery["issuer"] == f"https://{DOMAIN}", discovery
        assert "S256" in discovery.get("code_challenge_methods_supported", []), discovery
        assert json.loads(server.succeed(f"curl -sSf https://{DOMAIN}/.well-known/matrix/server")) == {"m.server": f"{MATRIX}:443"}
        client = json.loads(server.succeed(f"curl -sSf https://{DOMAIN}/.well-known/matrix/client"))
        assert client["m.homeserver"]["base_url"] == f"https://{MATRIX}", client

    with subtest("an admin is bootstrapped and invites a member"):
        out = server.succeed(
            "cooperage-manage sso bootstrap-admin --email "
            + shlex.quote(ADMIN["email"]) + " --name " + shlex.quote(ADMIN["name"])
        )
        link = invite_link(out)
        assert link, f"bootstrap-admin printed no invitation link:\n{out}"
        accept_invitation("/tmp/admin.jar", link, ADMIN)
        # coop-sso interface: an admin enrols a second factor (TOTP) before the first session;
        # the page shows the key as <code id="totp-secret">
        url, _, page = browse("/tmp/admin.jar", f"https://{DOMAIN}/login/totp")
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
        assert found, f"no TOTP enrolment after accepting the admin invitation:\n{page}"
        submit("/tmp/admin.jar", url, page, {"code": totp(found.group(1))})
        url, _, page = browse("/tmp/admin.jar", f"https://{DOMAIN}{ACCOUNT_PATH}")
        assert urllib.parse.urlparse(url).path == ACCOUNT_PATH, f"the admin is not signed in: {url}"
        assert ADMIN["name"] in html.unescape(page), page

        url, _, page = browse("/tmp/admin.jar", f"https://{DOMAIN}{INVITE_MEMBER_PATH}")
        _, _, page = submit("/tmp/admin.jar", url, page, {"email": MEMBER["email"], "name": MEMBER["name"]})
        # coop-sso interface: without services.cooperage.mail the confirmation page shows the
        # link for the admin to hand over (links are never logged)
        member_link = invite_link(page)
        assert member_link and member_link != link, f"no invitation link on the page:\n{page}"

    with subtest("the member accepts the invitation and signs in through coop-sso"):
        accept_invitation("/tmp/member.jar", member_link, MEMBER)
        sign_in("/tmp/member-fresh.jar", MEMBER)

    with subtest("the member opens their wallet at coop-finance, signed in through coop-sso"):
        # coop-finance interface: its root is the member's wallet, with their payment reference
        url, _, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/finance")
        assert urllib.parse.urlparse(url).path == "/finance", f"not at the wallet: ended on {url}"
        assert 'id="reference"' in page, f"no payment reference on the wallet page:\n{page}"

    with subtest("the member searches the product finder at coop-ims; the catalogue is for managers"):
        # coop-ims interface: its root is the finder, a GET form with the field `q`
        url, status, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/ims?q=havre")
        assert urllib.parse.urlparse(url).path == "/ims", f"not at the finder: ended on {url}"
        assert 'role="search"' in page, f"no search form on the finder:\n{page}"
        status, _, _ = http("/tmp/member-fresh.jar", f"https://{DOMAIN}/ims/products", None)
        assert status == 403, f"a member reached the catalogue ({status})"
        # the feed and the look-up answer only to tokens
        server.succeed(f"test \"$(curl -s -o /dev/null -w '%{{http_code}}' https://{DOMAIN}/ims/api/feed)\" = 401")
        server.succeed(f"test \"$(curl -s -o /dev/null -w '%{{http_code}}' 'https://{DOMAIN}/ims/api/lookup?code=4011')\" = 401")

    with subtest("the member opens their purchases at coop-pos; the tills page is for managers"):
        # coop-pos interface: /pos/mine lists the member's own receipts (none yet)
        url, status, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/pos/mine")
        assert urllib.parse.urlparse(url).path == "/pos/mine", f"not at the purchases: ended on {url}"
        assert 'id="no-purchases"' in page, f"purchases page without its empty state:\n{page}"
        status, _, _ = http("/tmp/member-fresh.jar", f"https://{DOMAIN}/pos/", None)
        assert status == 403, f"a member reached the tills page ({status})"
        status, _, _ = http("/tmp/member-fresh.jar", f"https://{DOMAIN}/pos/hours", None)
        assert status == 403, f"a member reached the hours ({status})"

    with subtest("a till pairs through coop-sso's device grant and central takes its token"):
        # the till's side of RFC 8628, by hand: a code, paired from the console, then the token
        answer = json.loads(server.succeed(
            f"curl -sSf -d client_id=coop-till -d scope=till -d device_name=vm-till https://{DOMAIN}/device/authorize"))
        server.succeed(f"cooperage-manage sso pair-till --code {answer['user_code']} --name 'Kassa VM'")
        token = json.loads(server.succeed(
            f"curl -sS -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=coop-till "
            f"-d device_code={answer['device_code']} https://{DOMAIN}/token"))
        assert "access_token" in token and "refresh_token" in token, f"no tokens: {token}"
        settings = json.loads(server.succeed(
            f"curl -sSf -H 'Authorization: Bearer {token['access_token']}' https://{DOMAIN}/pos/api/till/settings"))
        assert settings["currency"] == "SEK", f"unexpected till settings: {settings}"
        # the catalogue feed at coop-ims takes the same token
        server.succeed(f"curl -sSf -H 'Authorization: Bearer {token['access_token']}' 'https://{DOMAIN}/ims/api/feed?after=0&limit=1'")

    with subtest("the member signs in to Matrix through coop-sso and gets an access token"):
        flows = matrix("/_matrix/client/v3/login")["flows"]
        sso = [f for f in flows if f["type"] == "m.login.sso"]
        assert sso and [p["id"] for p in sso[0]["identity_providers"]] == ["oidc-cooperage"], flows
        assert not [f for f in flows if f["type"] == "m.login.password"], flows

        jar = "/tmp/member-matrix.jar"  # a browser that has not signed in yet
        done = lambda url: url.startswith(CLIENT)
        url, _, page = browse(
            jar,
            f"https://{MATRIX}/_matrix/client/v3/login/sso/redirect/oidc-cooperage?redirectUrl="
            + urllib.parse.quote(CLIENT, safe=""),
            stop=done,
        )
        assert urllib.parse.urlparse(url).hostname == DOMAIN, f"Synapse did not send us to coop-sso: {url}"
        url, _, page = submit(jar, url, page, {"email": MEMBER["email"]}, password=MEMBER["password"], stop=done)
        if not done(url) and urllib.parse.urlparse(url).hostname == DOMAIN:
            # coop-sso interface: a consent page, if it shows one, is accepted as it is
            url, _, page = submit(jar, url, page, {}, stop=done)
        if not done(url):
            # Synapse's own "continue to your client" page
            found = re.search(r'href="([^"]*loginToken=[^"]*)"', page)
            assert found, f"no loginToken after signing in; ended on {url}:\n{page}"
            url = html.unescape(found.group(1))
        token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["loginToken"][0]

        login = matrix("/_matrix/client/v3/login", data={"type": "m.login.token", "token": token})
        user_id, access_token = login["user_id"], login["access_token"]
        assert user_id.startswith("@") and user_id.endswith(f":{DOMAIN}"), user_id
        assert matrix("/_matrix/client/v3/account/whoami", token=access_token)["user_id"] == user_id
        profile = matrix(f"/_matrix/client/v3/profile/{urllib.parse.quote(user_id)}", token=access_token)
        assert profile.get("displayname") == MEMBER["name"], profile

    with subtest("the buyers club's bot is registered, makes the co-op's room, and the member joins it"):
        # Synapse may have been slow: the unit retries every 30 s until it has set the bot up.
        server.wait_until_succeeds("systemctl show cooperage-matrix-bot.service -p Result | grep -q Result=success", timeout=300)
        server.succeed("test \"$(stat -c '%a' /var/lib/private/coop-buyers-club/matrix-bot-token)\" = 600")
        # The registration secret reaches Synapse and the bot's unit, never the buyers club.
        creds = server.succeed("systemctl show coop-buyers-club.service -p LoadCredential")
        assert "synapse-registration" not in creds, creds
        # The bot's token works, and is the bot's own.
        bot = server.succeed("cat /var/lib/private/coop-buyers-club/matrix-bot-token").strip()
        assert matrix("/_matrix/client/v3/account/whoami", token=bot)["user_id"] == f"@cooperage:{DOMAIN}"
        # The member joins #orders from their Matrix session.
        room = matrix(f"/_matrix/client/v3/join/{urllib.parse.quote('#orders:' + DOMAIN)}", token=access_token, data={})["room_id"]
        members = matrix(f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/joined_members", token=access_token)["joined"]
        assert f"@cooperage:{DOMAIN}" in members and user_id in members, members
        # Running the setup again keeps the bot's token.
        server.succeed("systemctl restart cooperage-matrix-bot.service")
        assert server.succeed("cat /var/lib/private/coop-buyers-club/matrix-bot-token").strip() == bot

    with subtest("the member opens the buyers club: orders, places, notifications"):
        # coop-buyers-club interface: its root lists the orders; /notifications has the
        # member's choices in a table #choices, /places the places' list or its empty state
        url, _, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/buyers-club/")
        assert urllib.parse.urlparse(url).path.startswith("/buyers-club"), f"not at the buyers club: {url}"
        url, _, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/buyers-club/notifications")
        assert 'id="choices"' in page, f"no notification choices:\n{page}"
        url, _, page = browse("/tmp/member-fresh.jar", f"https://{DOMAIN}/buyers-club/places")
        assert 'id="mine-title"' in page, f"no places page:\n{page}"
        # its order feed answers only to tokens
        server.succeed(f"test \"$(curl -s -o /dev/null -w '%{{http_code}}' https://{DOMAIN}/buyers-club/api/feed)\" = 401")

    with subtest("the nightly dump runs, and the documented restore brings the database back"):
        server.succeed("systemctl start postgresqlBackup-coop_sso.service postgresqlBackup-matrix-synapse.service")
        server.succeed("test -s /var/backup/postgresql/coop_sso.sql.gz")
        server.succeed("test -s /var/backup/postgresql/matrix-synapse.sql.gz")
        server.succeed("systemctl list-timers | grep -q postgresqlBackup-coop_sso")

        # docs/operators.md, "Restore"
        server.succeed("systemctl stop coop-sso.service")
        server.succeed("runuser -u postgres -- dropdb coop_sso")
        server.succeed("zcat /var/backup/postgresql/coop_sso.sql.gz | runuser -u postgres -- psql -v ON_ERROR_STOP=1 -d postgres")
        server.succeed("systemctl start coop-sso.service")
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/readyz")
        sign_in("/tmp/member-after-restore.jar", MEMBER)

    with subtest("cooperage-manage restore replaces the database with a dump, and refuses a broken one"):
        # A broken dump changes nothing: the check comes before anything is dropped.
        server.succeed("head -c 100 /var/backup/postgresql/coop_sso.sql.gz > /tmp/broken.sql.gz")
        server.fail("cooperage-manage restore sso /tmp/broken.sql.gz")
        server.succeed("systemctl is-active coop-sso.service")
        # The member signs in with the restored account.
        server.succeed("cooperage-manage restore sso /var/backup/postgresql/coop_sso.sql.gz")
        server.wait_until_succeeds(f"curl -sSf https://{DOMAIN}/readyz")
        sign_in("/tmp/member-after-manage-restore.jar", MEMBER)
  '';
}
