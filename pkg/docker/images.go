package docker

import (
	"context"
	"fmt"
	"io"
)

// CopyImageTo streams image ref from this engine into dst (docker save |
// docker load through the API), for hosts that cannot pull: the image is
// built or loaded once and handed to the other engines.
func (c *Client) CopyImageTo(ctx context.Context, ref string, dst *Client) error {
	rc, err := c.api.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("save image %s from %s: %w", ref, c.host, err)
	}
	defer rc.Close()
	resp, err := dst.api.ImageLoad(ctx, rc)
	if err != nil {
		return fmt.Errorf("load image %s into %s: %w", ref, dst.host, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("load image %s into %s: %w", ref, dst.host, err)
	}
	if _, err := dst.api.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("load image %s into %s: not there afterwards: %w", ref, dst.host, err)
	}
	return nil
}
