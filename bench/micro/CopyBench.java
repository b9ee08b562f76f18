// Moving a flat fp32 vector into and out of ND4J: TrainingState.copyInto/toFloats (the bulk pointer path on the CPU
// backend) against the JavaCPP pointer's own get/put. Argument: values (e.g. 27000000).
// Run: the classpath as in bench/micro/SerialisationBench.java (lz4 not needed), then
//      java -Xmx6g -cp models/target/classes:$(cat /tmp/cp.txt) bench/micro/CopyBench.java 27000000
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.buffer.DataType;
import io.whetstone.models.train.TrainingState;
import org.bytedeco.javacpp.FloatPointer;

public class CopyBench {
    public static void main(String[] a) {
        int n = Integer.parseInt(a[0]);
        float[] init = new float[n]; for (int i = 0; i < n; i++) init[i] = i * 1e-7f; INDArray flat = Nd4j.createFromArray(init);
        float[] values = new float[n];
        for (int rep = 0; rep < 4; rep++) {
            long t0 = System.nanoTime();
            float[] got = TrainingState.toFloats(flat);
            long t1 = System.nanoTime();
            TrainingState.copyInto(got, flat);
            long t2 = System.nanoTime();
            float[] bulk = new float[n];
            ((FloatPointer) flat.data().pointer()).get(bulk);
            long t3 = System.nanoTime();
            ((FloatPointer) flat.data().pointer()).put(bulk);
            long t4 = System.nanoTime();
            System.out.printf("toFloats %.0f M/s, copyInto %.0f M/s, pointer get %.0f M/s, put %.0f M/s %b%n",
                n / 1e3 / ((t1 - t0) / 1e6), n / 1e3 / ((t2 - t1) / 1e6), n / 1e3 / ((t3 - t2) / 1e6), n / 1e3 / ((t4 - t3) / 1e6),
                java.util.Arrays.equals(got, bulk));
        }
    }
}
