import { ProducerBatch } from 'kafkajs';
import { messageBytes } from './contract-producer';
import { SendCoalescer } from './send-coalescer';

/** A producer whose requests the test answers one by one, in the order they were made. */
class ScriptedProducer {
  readonly requests: { batch: ProducerBatch; answer: (error?: Error) => void }[] = [];

  sendBatch(batch: ProducerBatch): Promise<never[]> {
    return new Promise((resolve, reject) => {
      this.requests.push({ batch, answer: (error) => (error ? reject(error) : resolve([])) });
    });
  }

  /** Each request as "topic:value,value" entries. */
  shapes(): string[][] {
    return this.requests.map(({ batch }) =>
      (batch.topicMessages ?? []).map((t) => `${t.topic}:${t.messages.map((m) => String(m.value)).join(',')}`),
    );
  }
}

const messages = (...values: string[]) => values.map((value) => ({ value }));
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SendCoalescer', () => {
  it('sends the first send at once and every send that arrives meanwhile in the next request, in order', async () => {
    const producer = new ScriptedProducer();
    const coalescer = new SendCoalescer(producer);
    const done: string[] = [];
    const first = coalescer.send('out', messages('a1', 'a2')).then(() => done.push('a'));
    const second = coalescer.send('out', messages('b1')).then(() => done.push('b'));
    const third = coalescer.send('dead', messages('c1')).then(() => done.push('c'));
    const fourth = coalescer.send('out', messages('d1', 'd2')).then(() => done.push('d'));
    await settle();
    expect(producer.shapes()).toEqual([['out:a1,a2']]);
    producer.requests[0]?.answer();
    await settle();
    expect(done).toEqual(['a']);
    expect(producer.shapes()[1]).toEqual(['out:b1,d1,d2', 'dead:c1']);
    expect(producer.requests[1]?.batch.acks).toBe(-1);
    producer.requests[1]?.answer();
    await Promise.all([first, second, third, fourth]);
    expect(done).toEqual(['a', 'b', 'c', 'd']);
    expect(producer.requests).toHaveLength(2);
  });

  it('fails the sends of a failed request, and only those', async () => {
    const producer = new ScriptedProducer();
    const coalescer = new SendCoalescer(producer);
    const first = coalescer.send('out', messages('a'));
    const second = coalescer.send('out', messages('b'));
    const third = coalescer.send('out', messages('c'));
    await settle();
    producer.requests[0]?.answer();
    await settle();
    producer.requests[1]?.answer(new Error('NOT_LEADER_FOR_PARTITION'));
    await expect(first).resolves.toBeUndefined();
    await expect(second).rejects.toThrow('NOT_LEADER_FOR_PARTITION');
    await expect(third).rejects.toThrow('NOT_LEADER_FOR_PARTITION');
    // The coalescer goes on: the next send is a request of its own.
    const fourth = coalescer.send('out', messages('d'));
    await settle();
    expect(producer.shapes()[2]).toEqual(['out:d']);
    producer.requests[2]?.answer();
    await expect(fourth).resolves.toBeUndefined();
  });

  it('keeps requests within the byte limit: whole sends while they fit, a larger send alone in requests of its own', async () => {
    const one = messageBytes({ value: 'x0' });
    const producer = new ScriptedProducer();
    const coalescer = new SendCoalescer(producer, undefined, one * 3);
    const sends = [
      coalescer.send('out', messages('x0')),
      coalescer.send('out', messages('x1', 'x2')),
      coalescer.send('out', messages('x3')),
      coalescer.send('out', messages('y0', 'y1', 'y2', 'y3', 'y4', 'y5', 'y6')),
      coalescer.send('out', messages('z0')),
    ];
    for (let answered = 0; answered < 6; answered++) {
      await settle();
      producer.requests[answered]?.answer();
    }
    await Promise.all(sends);
    expect(producer.shapes()).toEqual([['out:x0'], ['out:x1,x2,x3'], ['out:y0,y1,y2'], ['out:y3,y4,y5'], ['out:y6'], ['out:z0']]);
  });

  it('answers an empty send at once, without a request', async () => {
    const producer = new ScriptedProducer();
    await new SendCoalescer(producer).send('out', []);
    expect(producer.requests).toHaveLength(0);
  });
});
