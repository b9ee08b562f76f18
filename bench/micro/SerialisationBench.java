// Java serialisation of a TrainingState's vectors: the plain record form (per-value writeFloats) against the bulk
// form (BulkArrays), and LZ4 on the result. Argument: parameters (e.g. 10000000; three vectors are written).
// Run: mvn -q -o install -DskipTests && mvn -o -q -pl models dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
//      java -Xmx6g -cp models/target/classes:$(cat /tmp/cp.txt):$HOME/.m2/repository/org/lz4/lz4-java/1.8.0/lz4-java-1.8.0.jar \
//        bench/micro/SerialisationBench.java 10000000
import java.io.*;
import java.util.Random;
import io.whetstone.models.train.TrainingState;

public class SerialisationBench {
    record Plain(float[] params, float[][] state, long step) implements Serializable {}
    public static void main(String[] a) throws Exception {
        int p = Integer.parseInt(a[0]);
        Random r = new Random(1);
        float[] params = new float[p]; float[][] m = new float[2][p];
        for (int i = 0; i < p; i++) { params[i] = (float) r.nextGaussian(); m[0][i] = (float) r.nextGaussian()*1e-3f; m[1][i] = r.nextFloat()*1e-6f; }
        TrainingState s = new TrainingState(params, m, 3);
        Plain plain = new Plain(params, m, 3);
        for (int rep = 0; rep < 3; rep++) {
            for (Object o : new Object[] {plain, s}) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(12 * p + 1_000_000);
                long t0 = System.nanoTime();
                try (ObjectOutputStream out = new ObjectOutputStream(bytes)) { out.writeObject(o); }
                long t1 = System.nanoTime();
                byte[] b = bytes.toByteArray();
                long t2 = System.nanoTime();
                try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) { in.readObject(); }
                long t3 = System.nanoTime();
                ByteArrayOutputStream z = new ByteArrayOutputStream(12 * p + 1_000_000);
                long t4 = System.nanoTime();
                try (OutputStream lz = new net.jpountz.lz4.LZ4BlockOutputStream(z, 32 * 1024)) { lz.write(b); }
                long t5 = System.nanoTime();
                System.out.printf("%s %d MB: write %.0f MB/s, read %.0f MB/s, lz4 %.0f MB/s (ratio %.3f)%n",
                    o.getClass().getSimpleName(), b.length >> 20, b.length / 1e6 / ((t1 - t0) / 1e9),
                    b.length / 1e6 / ((t3 - t2) / 1e9), b.length / 1e6 / ((t5 - t4) / 1e9), z.size() / (double) b.length);
            }
        }
    }
}
