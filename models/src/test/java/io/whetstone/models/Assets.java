package io.whetstone.models;

import java.nio.file.Files;
import java.nio.file.Path;

/** The shared real assets (../shared/assets), located by the build's whetstone.assets property. */
public final class Assets {

    private Assets() {
    }

    public static Path path(String name) {
        Path path = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), name);
        if (!Files.exists(path)) {
            throw new IllegalStateException("asset " + name + " not found at " + path.toAbsolutePath());
        }
        return path;
    }
}
