// Kafka's own Java admin client (from the reference Kafka's jars) describing a topic and the
// log dirs of every broker; compat_tests/test_admin_versions.py compiles and runs it. Kafka 4's
// client describes topics with DescribeTopicPartitions (KIP-966).
//
// Usage: java -cp LIBS/*:. AdminDescribe BOOTSTRAP TOPIC
// Prints one line per fact: "partition <index> leader <id> isr <ids>", "internal <bool>",
// "logdir <path> <topic>-<partition> <size>", "done".

import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;

public class AdminDescribe {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (Admin admin = Admin.create(props)) {
            TopicDescription topic = admin.describeTopics(List.of(args[1])).allTopicNames().get().get(args[1]);
            for (TopicPartitionInfo p : topic.partitions()) {
                StringBuilder isr = new StringBuilder();
                for (Node n : p.isr()) {
                    isr.append(isr.length() == 0 ? "" : ",").append(n.id());
                }
                System.out.println("partition " + p.partition() + " leader " + p.leader().id() + " isr " + isr);
            }
            System.out.println("internal " + topic.isInternal());
            List<Integer> brokers = admin.describeCluster().nodes().get().stream().map(Node::id).toList();
            Map<Integer, Map<String, LogDirDescription>> dirs = admin.describeLogDirs(brokers).allDescriptions().get();
            for (Map<String, LogDirDescription> byPath : dirs.values()) {
                for (Map.Entry<String, LogDirDescription> dir : byPath.entrySet()) {
                    dir.getValue().replicaInfos().forEach((tp, info) -> {
                        if (tp.topic().equals(args[1])) {
                            System.out.println("logdir " + dir.getKey() + " " + tp + " " + info.size());
                        }
                    });
                }
            }
            System.out.println("done");
        }
    }
}
