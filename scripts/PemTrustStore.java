// Writes a Java trust store (JKS, password "changeit", as Debian's
// ca-certificates-java writes one) holding every certificate of a PEM
// bundle. scripts/setup.sh runs it, as a single-file source program, for a
// JDK whose cacerts link points at a file nothing created (Debian's JDK
// without the ca-certificates-java package): Maven needs it to reach Maven
// Central over TLS.
//
//   java scripts/PemTrustStore.java BUNDLE.pem OUT.jks

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;

public class PemTrustStore {
    public static void main(String[] args) throws Exception {
        KeyStore store = KeyStore.getInstance("JKS");
        store.load(null, null);
        int n = 0;
        try (InputStream in = new FileInputStream(args[0])) {
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                store.setCertificateEntry("ca-" + n++, c);
            }
        }
        try (OutputStream out = new FileOutputStream(args[1])) {
            store.store(out, "changeit".toCharArray());
        }
        System.err.println("setup: " + n + " certificates into " + args[1]);
    }
}
