// Placeholder until the page lands.
import { Empty } from '../../components/ui';

export default function Users() {
  return <Empty title="Users" />;
}
