package plan

import (
	"github.com/quantabase/fleetctl/pkg/fleet"
	"github.com/quantabase/fleetctl/pkg/observe"
)

// conflicts reports everything that blocks a client, so that apply never
// fails half-way on it and never puts a second writer on its volume. adopt
// is true when an unmanaged container of the client's name is to be replaced
// (--adopt).
func (b *builder) conflicts(c *fleet.Client, d *Desired, primary, prev *observe.Container) (adopt, blocked bool) {
	name := d.Container.Name
	block := func(object, format string, args ...any) (bool, bool) {
		b.conflict(c.Name, object, format, args...)
		return false, true
	}
	if primary != nil && !b.owns(primary, c.Name) {
		if !b.opt.Adopt || primary.Labels[observe.LabelManagedBy] == observe.ManagedByValue {
			return block(name, "container %s already exists and is not managed by fleet %q for client %s; "+
				"rename or remove it, or re-run with --adopt to replace it by a managed container (its volume is kept)",
				name, b.spec.Fleet, c.Name)
		}
		adopt = true
	}
	if prev != nil && !b.owns(prev, c.Name) {
		return block(prev.Name, "container %s is in the way of safe recreates and is not managed by this fleet", prev.Name)
	}
	for _, other := range b.byClient[c.Name] {
		// The naming template changed: the client's old container would keep
		// running beside the new one, on the same volume.
		if other.Name != name && other.Name != name+observe.PreviousSuffix {
			return block(other.Name, "container %s also belongs to client %s (was the naming template changed?); "+
				"stop and remove it, or rename it to %s, before fleetctl manages this client", other.Name, c.Name, name)
		}
	}
	for _, other := range b.byVolume[d.Volume.Name] {
		if b.isSyncNode(other) {
			continue // this fleet's sync node only reads the database (sync.go)
		}
		if other.Name != name && other.Name != name+observe.PreviousSuffix && other.Running() {
			return block(other.Name, "container %s is running with the client's volume %s mounted: "+
				"SQLite allows one writer, so stop it first", other.Name, d.Volume.Name)
		}
	}
	for _, owner := range b.ports[c.Port] {
		if owner != name && owner != name+observe.PreviousSuffix {
			return block(owner, "host port %d is already published by container %s", c.Port, owner)
		}
	}
	for _, p := range b.st.BoundPorts {
		if p.HostPort == c.Port {
			return block(name, "host port %s:%d is already bound by a process on the Docker host that is not a container; "+
				"stop it or choose another port (a start would fail with \"address already in use\")", orAll(p.HostIP), c.Port)
		}
	}
	if vol := b.volumes[d.Volume.Name]; vol != nil && vol.Labels[observe.LabelManagedBy] == observe.ManagedByValue &&
		!(observe.Managed(vol.Labels, b.spec.Fleet) && vol.Labels[observe.LabelClient] == c.Name) {
		return block(vol.Name, "volume %s belongs to fleet %q, client %q", vol.Name, vol.Labels[observe.LabelFleet], vol.Labels[observe.LabelClient])
	}
	// Same hash, same inputs: the label is decoded only when something changed.
	if primary != nil && !adopt && primary.Labels[observe.LabelConfigHash] != d.Hash {
		// A move to a volume fleetctl made for this client (a restore
		// fills one, then points fleet.yaml at it) carries its data along.
		if cfg := parseConfig(primary.Labels); cfg != nil && cfg.Volume != d.Volume.Name && !b.clientVolume(d.Volume.Name, c.Name) {
			return block(name, "the data volume would change from %s to %s and the client would start on an empty volume; "+
				"move the data first or restore the volume naming", cfg.Volume, d.Volume.Name)
		}
	}
	return adopt, false
}

// clientVolume reports whether volume exists and is labelled as client's
// volume in this fleet.
func (b *builder) clientVolume(volume, client string) bool {
	vol := b.volumes[volume]
	return vol != nil && observe.Managed(vol.Labels, b.spec.Fleet) && vol.Labels[observe.LabelClient] == client
}

// index groups the snapshot's containers by the fleet client they belong to
// and by the volumes they mount, so each client's checks are map lookups.
func (b *builder) index() {
	b.byClient = map[string][]*observe.Container{}
	b.byVolume = map[string][]*observe.Container{}
	for i := range b.st.Containers {
		c := &b.st.Containers[i]
		if client := c.Labels[observe.LabelClient]; client != "" && observe.Managed(c.Labels, b.spec.Fleet) {
			b.byClient[client] = append(b.byClient[client], c)
		}
		for _, v := range c.Mounts {
			b.byVolume[v] = append(b.byVolume[v], c)
		}
	}
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}
