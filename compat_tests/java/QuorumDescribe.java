// Kafka's own Java admin client (from the reference Kafka's jars) describing the controller
// quorum, as kafka-metadata-quorum.sh does with --bootstrap-server; compat_tests/test_quorum.py
// compiles and runs it.
//
// Usage: java -cp LIBS/*:. QuorumDescribe BOOTSTRAP
// Prints "leader <id> epoch <epoch> hw <high watermark>", then one line per replica:
// "voter|observer <id> end <log end offset> fetch <ms or -> caughtup <ms or ->", then "done".

import java.util.OptionalLong;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.QuorumInfo;

public class QuorumDescribe {
    private static String ms(OptionalLong value) {
        return value.isPresent() ? Long.toString(value.getAsLong()) : "-";
    }

    private static void print(String kind, QuorumInfo.ReplicaState r) {
        System.out.println(kind + " " + r.replicaId() + " end " + r.logEndOffset()
            + " fetch " + ms(r.lastFetchTimestamp()) + " caughtup " + ms(r.lastCaughtUpTimestamp()));
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            QuorumInfo info = admin.describeMetadataQuorum().quorumInfo().get();
            System.out.println("leader " + info.leaderId() + " epoch " + info.leaderEpoch() + " hw " + info.highWatermark());
            info.voters().forEach(v -> print("voter", v));
            info.observers().forEach(o -> print("observer", o));
            System.out.println("done");
        }
    }
}
