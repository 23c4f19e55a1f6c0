import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The transformer's work in Kafka Streams: every string value of the JSON web log upper-cased,
 * numbers as they are, key and headers carried over, and `timestamp_utc` added (the instant in
 * UTC, milliseconds at least, as the output contract requires). Configured only through the environment:
 * BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, APPLICATION_ID and GUARANTEE (at_least_once or
 * exactly_once_v2), and optionally LINGER_MS (the producer's linger.ms) and STREAM_THREADS
 * (num.stream.threads); everything else is Kafka Streams' default.
 */
public final class UpperCaseStreams {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter UTC = new DateTimeFormatterBuilder()
      .appendPattern("uuuu-MM-dd'T'HH:mm:ss")
      .appendFraction(ChronoField.NANO_OF_SECOND, 3, 6, true)
      .appendLiteral('Z')
      .toFormatter(Locale.ROOT);

  /** ISO 8601 with a zone, or without one (read as UTC), to the UTC instant. */
  static String utc(String timestamp) {
    try {
      return UTC.format(OffsetDateTime.parse(timestamp).withOffsetSameInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException zoned) {
      return UTC.format(LocalDateTime.parse(timestamp));
    }
  }

  static byte[] upperCase(byte[] value) {
    try {
      JsonNode log = JSON.readTree(value);
      if (!(log instanceof ObjectNode object)) throw new IllegalArgumentException("not a JSON object");
      for (Map.Entry<String, JsonNode> field : object.properties()) {
        if (field.getValue().isTextual()) field.setValue(object.textNode(field.getValue().textValue().toUpperCase(Locale.ROOT)));
      }
      object.put("timestamp_utc", utc(object.path("timestamp").asText()));
      return JSON.writeValueAsBytes(object);
    } catch (java.io.IOException | DateTimeParseException error) {
      throw new IllegalArgumentException(error);
    }
  }

  private static String required(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) {
      System.err.println(name + " is required");
      System.exit(2);
    }
    return value;
  }

  public static void main(String[] args) throws InterruptedException {
    Properties config = new Properties();
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required("BOOTSTRAP_SERVERS"));
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, required("APPLICATION_ID"));
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, required("GUARANTEE"));
    config.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    String linger = System.getenv("LINGER_MS");
    if (linger != null && !linger.isEmpty()) config.put(StreamsConfig.producerPrefix("linger.ms"), linger);
    String threads = System.getenv("STREAM_THREADS");
    if (threads != null && !threads.isEmpty()) config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);

    StreamsBuilder builder = new StreamsBuilder();
    builder
        .stream(required("INPUT_TOPIC"), Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .mapValues(UpperCaseStreams::upperCase)
        .to(required("OUTPUT_TOPIC"), Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));

    KafkaStreams streams = new KafkaStreams(builder.build(), config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      stopped.countDown();
    }));
    streams.setUncaughtExceptionHandler(error -> {
      error.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_APPLICATION;
    });
    streams.start();
    stopped.await();
  }
}
