// Placeholder until the page lands.
import { Empty } from '../../components/ui';

export default function System() {
  return <Empty title="System" />;
}
