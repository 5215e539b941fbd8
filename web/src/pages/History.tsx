// Placeholder until the page lands.
import { Empty } from '../components/ui';

export default function History() {
  return <Empty title="History" />;
}
