// Placeholder until the page lands.
import { Empty } from '../../components/ui';

export default function ApiKeys() {
  return <Empty title="ApiKeys" />;
}
