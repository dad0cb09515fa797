# A test CA and a certificate for the VM tests' server (tests/vm/*.nix), made
# at build time: the machines trust the CA, nginx serves the certificate.
{ pkgs, names }:
pkgs.runCommand "cooperage-test-certs"
  {
    nativeBuildInputs = [ pkgs.openssl ];
  }
  ''
    mkdir $out
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
      -subj "/CN=Cooperage test CA" -keyout ca.key -out $out/ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=${builtins.head names}" \
      -keyout $out/key.pem -out server.csr
    cat > ext.cnf <<EOF
    subjectAltName = ${pkgs.lib.concatMapStringsSep ", " (n: "DNS:${n}") names}
    basicConstraints = CA:FALSE
    keyUsage = digitalSignature, keyEncipherment
    extendedKeyUsage = serverAuth
    EOF
    openssl x509 -req -in server.csr -CA $out/ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -extfile ext.cnf -out $out/cert.pem
  ''
