package io.whetstone.datasets;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared real assets (../shared/assets), located by the build's whetstone.assets property. */
public final class Assets {

    private Assets() {
    }

    public static Path path(String name) {
        String root = System.getProperty("whetstone.assets", "../shared/assets");
        Path path = Path.of(root, name);
        if (!Files.exists(path)) {
            throw new IllegalStateException("asset " + name + " not found at " + path.toAbsolutePath()
                    + " (the repository's sibling folder shared/assets)");
        }
        return path;
    }
}
